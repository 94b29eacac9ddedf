/** One endpoint of the OpenFGA HTTP API: its method, path, the access it needs, what it does. */
export interface OpenfgaRoute {
  method: string;
  /** The path; `(?<store>…)` and `(?<model>…)` name the ids in it. */
  pattern: RegExp;
  access: 'read' | 'write';
  handle: OpenfgaRouteHandler;
}

export type OpenfgaRouteHandler = (ctx: {
  storeId: string;
  modelId: string;
  body: Record<string, unknown>;
  query: URLSearchParams;
}) => Promise<OpenfgaAnswer>;

/** The status and JSON body to answer, or `ndjson` lines (StreamedListObjects). */
export type OpenfgaAnswer = [number, unknown] | [number, string[], 'ndjson'];
