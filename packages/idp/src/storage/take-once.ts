/**
 * What `map` holds for `key`, handed out once: the entry is removed as it is returned. `{ value }`
 * even when the value itself is undefined (read ahead, and nothing found); undefined when there is
 * no entry (not read ahead: the caller reads it itself).
 */
export function takeOnce<K, V>(map: Map<K, V> | undefined, key: K): { value: V } | undefined {
  if (!map?.has(key)) return undefined;
  const value = map.get(key) as V;
  map.delete(key);
  return { value };
}
