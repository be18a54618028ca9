/** AMQP header values as the clients decode them: strings, numbers, tables, arrays, byte buffers. */
export type Headers = Record<string, unknown>;

/**
 * Bytes a value takes in an AMQP field table (type tag included), as rabbitmq-client encodes it;
 * an upper bound for values it has no exact rule for.
 */
export function fieldValueBytes(value: unknown): number {
  if (typeof value === 'string') return 1 + 4 + Buffer.byteLength(value);
  if (typeof value === 'number' || typeof value === 'bigint') return 1 + 8;
  if (typeof value === 'boolean' || value === null || value === undefined) return 2;
  if (Array.isArray(value)) return 1 + 4 + value.reduce((sum: number, item) => sum + fieldValueBytes(item), 0);
  if (typeof value === 'object') return 1 + fieldTableBytes(value as Headers);
  return 1 + 4 + Buffer.byteLength(String(value));
}

/** Bytes a field table takes: its length prefix, then each entry's name and value. */
export function fieldTableBytes(table: Headers): number {
  let bytes = 4;
  for (const [name, value] of Object.entries(table)) bytes += 1 + Buffer.byteLength(name) + fieldValueBytes(value);
  return bytes;
}

export interface FittedHeaders {
  headers: Headers;
  /** The headers left out, largest first, with the bytes each took. */
  dropped: { name: string; bytes: number }[];
}

/**
 * `own` and as many of `original` as fit in `maxBytes` of field table: the largest of `original`
 * are dropped first, so that one oversized header does not cost the small ones. `own` wins over an
 * `original` header of the same name, and is always kept.
 */
export function fitHeaders(original: Headers, own: Headers, maxBytes: number): FittedHeaders {
  const candidates = Object.entries(original)
    .filter(([name]) => !(name in own))
    .map(([name, value]) => ({ name, value, bytes: 1 + Buffer.byteLength(name) + fieldValueBytes(value) }));
  let total = fieldTableBytes(own) + candidates.reduce((sum, { bytes }) => sum + bytes, 0);
  const dropped = new Set<string>();
  for (const candidate of [...candidates].sort((a, b) => b.bytes - a.bytes)) {
    if (total <= maxBytes) break;
    dropped.add(candidate.name);
    total -= candidate.bytes;
  }
  const kept = candidates.filter(({ name }) => !dropped.has(name));
  return {
    headers: { ...Object.fromEntries(kept.map(({ name, value }) => [name, value])), ...own },
    dropped: candidates
      .filter(({ name }) => dropped.has(name))
      .sort((a, b) => b.bytes - a.bytes)
      .map(({ name, bytes }) => ({ name, bytes })),
  };
}
