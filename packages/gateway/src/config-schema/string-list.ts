/** A list of non-empty strings (scopes, roles, audiences, algorithms). */
export const stringList = { type: 'array', items: { type: 'string', minLength: 1 } } as const;
