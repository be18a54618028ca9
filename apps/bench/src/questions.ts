import type { StatusEventStore, StatusCounts } from '@tally/store';

export const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
/** The stored readings span these many days from QUERY_START. */
export const SPAN_DAYS = 30;
export const QUERY_START = Date.parse('2026-01-01T00:00:00Z');

export const RANGES = [
  { name: '1 minute', ms: 60_000 },
  { name: '1 hour', ms: HOUR_MS },
  { name: '1 day', ms: DAY_MS },
  { name: '30 days', ms: SPAN_DAYS * DAY_MS },
] as const;

/** The series a chart of a month asks for: 720 points of an hour. */
export const SERIES = { name: '30 days at 1 h', step: '1h', ms: SPAN_DAYS * DAY_MS } as const;
/** Devices on one page of `GET /devices`. */
export const DEVICE_PAGE = 100;

/**
 * One question, asked of every size in turn: the request to the API, and the same question to the
 * raw pipeline straight to the server, whose answer must equal what `read` makes of the API's.
 */
export interface Question {
  /** Names the question in an error. */
  label: string;
  method: 'GET' | 'POST';
  path: string;
  body?: unknown;
  /** What of the API's answer (its JSON text) the raw pipeline answers too, and the answer's total. */
  read(body: string): { comparable: unknown; total: number };
  /** The raw pipeline's answer; bounded by `timeoutMs` on the server. */
  raw(store: StatusEventStore, timeoutMs: number): Promise<unknown>;
}

/** What the questions are about. */
export interface Fleet {
  /** Every device, sorted by id (as `fleetDeviceIds` gives them and the directory lists them). */
  devices: readonly string[];
  /**
   * The cursors `GET /devices?limit=100` gave: `cursors[k]` continues after page k (the first page
   * is 0). Cursors are opaque: the only way to a page is through the one before it.
   */
  cursors: readonly string[];
}

/** A row of the query table: a kind of question, asked at random ranges (and devices). */
export interface QueryKind {
  /** The row's name, e.g. `POST /status-counts, 1 day`. */
  name: string;
  /** Whose readings it counts: the whole fleet, some devices, or the device directory. */
  scope: 'fleet' | 'devices' | 'directory';
  /** A new question; `random()` in [0, 1) picks its range and devices. */
  ask(fleet: Fleet, random: () => number): Question;
}

/** The sum of a count's statuses. */
export function totalOf(counts: StatusCounts): number {
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}

/** A random start for a range of `ms` within the stored span, to the millisecond. */
export function randomStart(ms: number, random: () => number): number {
  return QUERY_START + Math.floor(random() * (SPAN_DAYS * DAY_MS - ms + 1));
}

/** `count` distinct devices of `fleet`, at random. */
export function pickDevices(fleet: readonly string[], count: number, random: () => number): string[] {
  const picked = new Set<string>();
  while (picked.size < Math.min(count, fleet.length)) picked.add(fleet[Math.floor(random() * fleet.length)] as string);
  return [...picked];
}

const timeParams = (from: number, ms: number) =>
  `start_time=${new Date(from).toISOString()}&end_time=${new Date(from + ms).toISOString()}`;
const deviceParams = (devices: readonly string[]) => devices.map((device) => `&device=${encodeURIComponent(device)}`).join('');

/** A count over the whole fleet, as before devices: `POST /status-counts`. */
function fleetCount(range: (typeof RANGES)[number]): QueryKind {
  return {
    name: `POST /status-counts, ${range.name}`,
    scope: 'fleet',
    ask: (_fleet, random) => {
      const from = randomStart(range.ms, random);
      const body = { start_time: new Date(from).toISOString(), end_time: new Date(from + range.ms).toISOString() };
      return {
        label: `${range.name} from ${body.start_time}`,
        method: 'POST',
        path: '/status-counts',
        body,
        read: readCounts,
        raw: (store, timeoutMs) => store.countRawByStatus({ start: new Date(from), end: new Date(from + range.ms) }, { timeoutMs }),
      };
    },
  };
}

/** A count of one device: `GET /status-counts?…&device=`. */
function deviceCount(range: (typeof RANGES)[number]): QueryKind {
  return {
    name: `GET /status-counts, 1 device, ${range.name}`,
    scope: 'devices',
    ask: (fleet, random) => {
      const from = randomStart(range.ms, random);
      const devices = pickDevices(fleet.devices, 1, random);
      return {
        label: `${range.name} of ${devices.join(', ')} from ${new Date(from).toISOString()}`,
        method: 'GET',
        path: `/status-counts?${timeParams(from, range.ms)}${deviceParams(devices)}`,
        read: readCounts,
        raw: (store, timeoutMs) =>
          store.countRawByStatus({ start: new Date(from), end: new Date(from + range.ms) }, { timeoutMs, devices }),
      };
    },
  };
}

/**
 * A month's series at 1 h from a random whole hour, of the fleet or of `devices` devices. The raw
 * pipeline answers the range's total (what its points must add up to): the least a series from
 * the raw readings costs.
 */
function series(devices: number | undefined): QueryKind {
  const whose = devices === undefined ? '' : `, ${devices} device${devices === 1 ? '' : 's'}`;
  return {
    name: `GET /status-counts/series${whose}, ${SERIES.name}`,
    scope: devices === undefined ? 'fleet' : 'devices',
    ask: (fleet, random) => {
      const from = Math.floor(randomStart(DAY_MS, random) / HOUR_MS) * HOUR_MS;
      const picked = devices === undefined ? undefined : pickDevices(fleet.devices, devices, random);
      return {
        label: `series${picked ? ` of ${picked.join(', ')}` : ''} from ${new Date(from).toISOString()}`,
        method: 'GET',
        path: `/status-counts/series?${timeParams(from, SERIES.ms)}&step=${SERIES.step}${deviceParams(picked ?? [])}`,
        read: readSeriesSum,
        raw: (store, timeoutMs) =>
          store.countRawByStatus(
            { start: new Date(from), end: new Date(from + SERIES.ms) },
            { timeoutMs, ...(picked && { devices: picked }) },
          ),
      };
    },
  };
}

/** A device as `GET /devices` lists it, and as the raw pipeline finds it. */
interface ListedDevice {
  device: string;
  readings: number;
  first_seen: number;
  last_seen: number;
}

/**
 * A page of `GET /devices` (limit 100): a random page, through the cursor the page before it gave,
 * or a random prefix two characters short of an id (`sim-012`: sim-01200…sim-01299), in turn.
 * The raw pipeline groups the readings of the devices the page must hold: every device of the
 * fleet has readings.
 */
function devicePage(): QueryKind {
  let asked = 0;
  return {
    name: `GET /devices, ${DEVICE_PAGE} a page`,
    scope: 'directory',
    ask: ({ devices, cursors }, random) => {
      let query: string;
      let expected: readonly string[];
      if (asked++ % 2 === 0) {
        const page = Math.floor(random() * (cursors.length + 1));
        query = page === 0 ? '' : `&cursor=${encodeURIComponent(cursors[page - 1] as string)}`;
        expected = devices.slice(page * DEVICE_PAGE, (page + 1) * DEVICE_PAGE);
      } else {
        const prefix = (devices[Math.floor(random() * devices.length)] as string).slice(0, -2);
        query = `&prefix=${encodeURIComponent(prefix)}`;
        expected = devices.filter((id) => id.startsWith(prefix)).slice(0, DEVICE_PAGE);
      }
      return {
        label: `GET /devices?limit=${DEVICE_PAGE}${query}`,
        method: 'GET',
        path: `/devices?limit=${DEVICE_PAGE}${query}`,
        read: (body) => {
          const listed = readDevicePage(body).devices.map(
            (d): ListedDevice => ({ device: d.device, readings: d.readings, first_seen: Date.parse(d.first_seen), last_seen: Date.parse(d.last_seen) }),
          );
          return { comparable: listed, total: listed.length };
        },
        raw: async (store, timeoutMs) => {
          const groups = await store.collection
            .aggregate<{ _id: string; readings: number; first: Date; last: Date }>(
              [
                { $match: { device: { $in: [...expected] } } },
                { $group: { _id: '$device', readings: { $sum: 1 }, first: { $min: '$ts' }, last: { $max: '$ts' } } },
              ],
              { maxTimeMS: timeoutMs },
            )
            .toArray();
          return groups
            .sort((a, b) => (a._id < b._id ? -1 : 1))
            .map((g): ListedDevice => ({ device: g._id, readings: g.readings, first_seen: g.first.getTime(), last_seen: g.last.getTime() }));
        },
      };
    },
  };
}

/** A page of `GET /devices`, as the API answers it. */
export interface DevicePage {
  devices: { device: string; first_seen: string; last_seen: string; last_status: number; readings: number }[];
  next_cursor?: string;
}

export function readDevicePage(body: string): DevicePage {
  return JSON.parse(body) as DevicePage;
}

/** Every row of the query table, in order: the fleet's counts and series, then per device, then the directory. */
export function queryKinds(): QueryKind[] {
  return [
    ...RANGES.map(fleetCount),
    series(undefined),
    ...RANGES.map(deviceCount),
    series(1),
    series(10),
    devicePage(),
  ];
}

/** A series' points added up: what the raw pipeline answers for its range. */
export function readSeriesSum(body: string): { comparable: StatusCounts; total: number } {
  const { points } = JSON.parse(body) as { points: { counts: StatusCounts }[] };
  const sum = Object.fromEntries(Object.keys(points[0]?.counts ?? {}).map((key) => [key, 0])) as StatusCounts;
  for (const { counts } of points) for (const key of Object.keys(sum) as (keyof StatusCounts)[]) sum[key] += counts[key];
  return { comparable: sum, total: totalOf(sum) };
}

function readCounts(body: string): { comparable: StatusCounts; total: number } {
  const counts = JSON.parse(body) as StatusCounts;
  return { comparable: counts, total: totalOf(counts) };
}
