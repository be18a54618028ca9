/**
 * The live stream as the dashboard reads it (over fetch, which unlike EventSource sends the token):
 * pure functions shared by the page and the tests.
 */

/** One Server-Sent Event: its id, type and data (JSON text). */
export interface StreamEvent {
  id: string;
  type: string;
  data: string;
}

/** The complete events at the start of `text` (comments and `retry` skipped), and the rest, which waits for more. */
export function takeEvents(text: string): { events: StreamEvent[]; rest: string } {
  const events: StreamEvent[] = [];
  let rest = text;
  let blank: number;
  while ((blank = rest.indexOf('\n\n')) >= 0) {
    const block = rest.slice(0, blank);
    rest = rest.slice(blank + 2);
    const field = (name: string) => new RegExp(`^${name}: ?(.*)$`, 'm').exec(block)?.[1];
    const data = field('data');
    if (data !== undefined) events.push({ id: field('id') ?? '', type: field('event') ?? 'message', data });
  }
  return { events, rest };
}

export interface Point {
  start: string;
  counts: Record<string, number>;
}

/** A series (a `series` event), or its changed points (a `points` event). */
export interface SeriesUpdate {
  start_time: string;
  end_time: string;
  points: Point[];
}

/** `points` with the update's points in place of those with the same start, those before or after its range dropped, in order. */
export function mergePoints(points: readonly Point[], update: SeriesUpdate): Point[] {
  const [start, end] = [Date.parse(update.start_time), Date.parse(update.end_time)];
  const byStart = new Map(points.map((point) => [Date.parse(point.start), point]));
  for (const point of update.points) byStart.set(Date.parse(point.start), point);
  return [...byStart]
    .filter(([at]) => at >= start && at < end)
    .sort(([a], [b]) => a - b)
    .map(([, point]) => point);
}
