import { STATUS_KEYS, type StatusCounts } from '@tally/store';

/** One point of a series: its range as written (local ISO times) and its counts. */
export interface CsvPoint {
  start: string;
  end: string;
  counts: StatusCounts;
}

/**
 * A series as CSV (RFC 4180, CRLF): a header, then one row per point with its `start` and `end`
 * and a column per status (`0`..`6`); with `devices`, after those (their sum) a column per device
 * and status, `<device>/<status>` (a device id holds no `/`, nor anything CSV must quote).
 */
export function seriesCsv(points: readonly CsvPoint[], devices: readonly { device: string; counts: readonly StatusCounts[] }[] = []): string {
  const header = ['start', 'end', ...STATUS_KEYS, ...devices.flatMap(({ device }) => STATUS_KEYS.map((key) => `${device}/${key}`))];
  const rows = points.map((point, i) => [
    point.start,
    point.end,
    ...STATUS_KEYS.map((key) => point.counts[key]),
    ...devices.flatMap(({ counts }) => STATUS_KEYS.map((key) => counts[i]?.[key] ?? 0)),
  ]);
  return [header, ...rows].map((row) => `${row.join(',')}\r\n`).join('');
}

/**
 * Whether an `Accept` header asks for CSV rather than JSON: `text/csv` with a higher quality than
 * `application/json`, or the same and listed first.
 */
export function acceptsCsvFirst(accept: string | undefined): boolean {
  const wanted = (accept ?? '')
    .split(',')
    .map((part) => {
      const [type = '', ...parameters] = part.split(';').map((piece) => piece.trim().toLowerCase());
      const q = Number(parameters.find((parameter) => parameter.startsWith('q='))?.slice(2) ?? 1);
      return { type, q: Number.isNaN(q) ? 0 : q };
    })
    .filter(({ type, q }) => q > 0 && (type === 'text/csv' || type === 'application/json'));
  const best = wanted.reduce<(typeof wanted)[number] | undefined>((found, entry) => (found && found.q >= entry.q ? found : entry), undefined);
  return best?.type === 'text/csv';
}
