/** The longest stretch with no reading received, and when it began. */
export interface IngestPause {
  ms: number;
  /** The last arrival before the pause. */
  from: Date;
  /** The first arrival after it. */
  to: Date;
}

/**
 * The longest gap between two consecutive arrivals (`receivedAt`, stamped by the processors) at or
 * after `since`, counting the gap from `since` to the first arrival after it: how long ingest stood
 * still around a fault. `undefined` when nothing arrived after `since`.
 */
export function longestIngestPause(arrivals: readonly Date[], since: Date): IngestPause | undefined {
  const times = arrivals
    .map((date) => date.getTime())
    .filter((time) => time >= since.getTime())
    .sort((a, b) => a - b);
  if (times.length === 0) return undefined;
  let longest: IngestPause = { ms: (times[0] as number) - since.getTime(), from: since, to: new Date(times[0] as number) };
  for (let i = 1; i < times.length; i++) {
    const gap = (times[i] as number) - (times[i - 1] as number);
    if (gap > longest.ms) longest = { ms: gap, from: new Date(times[i - 1] as number), to: new Date(times[i] as number) };
  }
  return longest;
}
