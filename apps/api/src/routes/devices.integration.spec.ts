import { randomUUID } from 'node:crypto';
import { STATUSES, type StatusEvent } from '@tally/contract';
import { testDatabase, waitForDevstack } from '@tally/devstack';
import { createMongoConnection, createStatusEventStore, type MongoConnection, type StatusEventStore } from '@tally/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../app';
import { countsStoreOver } from '../store';

/** mulberry32: a seeded generator, so that a failure can be run again (TALLY_TEST_SEED). */
function seeded(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return { int: (n: number) => Math.floor(next() * n), pick: <T>(list: readonly T[]) => list[Math.floor(next() * list.length)] as T };
}

const SEED = Number(process.env['TALLY_TEST_SEED'] ?? Date.now() % 1_000_000);
const random = seeded(SEED);
const base = Date.parse('2026-03-01T00:00:00Z');
const DAY = 86_400_000;
/** 40 devices, ids of every allowed character, and readings without a device beside them. */
const DEVICES = [
  ...Array.from({ length: 30 }, (_, i) => `sim-${String(i + 1).padStart(4, '0')}`),
  ...['pump.17', 'pump:18', 'pump_19', 'Pump-20', 'valve-1', 'valve-2', 'valve-3', 'x', 'Z9', 'sim-0001.a'],
];
const readings: StatusEvent[] = Array.from({ length: 4000 }, (_, i) => {
  const device = i % 10 === 0 ? undefined : random.pick(DEVICES);
  return {
    _id: randomUUID(),
    status: random.pick(STATUSES),
    ts: new Date(base + random.int(2 * DAY)),
    receivedAt: new Date(),
    ...(device !== undefined && { device }),
  };
});

const zero = () => Object.fromEntries(STATUSES.map((status) => [String(status), 0])) as Record<string, number>;
/** The counts of `devices` (all readings when undefined) in [from, to), from the array itself. */
function reference(from: number, to: number, devices?: readonly string[]) {
  const counts = zero();
  for (const { status, ts, device } of readings) {
    if (ts.getTime() >= from && ts.getTime() < to && (devices === undefined || (device !== undefined && devices.includes(device)))) {
      counts[status] = (counts[status] ?? 0) + 1;
    }
  }
  return counts;
}
const iso = (ms: number) => new Date(ms).toISOString();
const deviceQuery = (devices: readonly string[]) => devices.map((device) => `&device=${encodeURIComponent(device)}`).join('');

describe(`devices over the devstack MongoDB-wire server (seed ${SEED})`, () => {
  let mongo: MongoConnection;
  let events: StatusEventStore;
  let app: ReturnType<typeof createApp>;
  const get = async (path: string) => {
    const response = await app.request(path);
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    const { mongodbUri } = await waitForDevstack();
    mongo = createMongoConnection({ uri: testDatabase(mongodbUri, 'api_devices_test').uri });
    events = createStatusEventStore({ db: mongo.db });
    app = createApp({ store: countsStoreOver(mongo), requestTimeoutMs: 20_000 });
    await events.ensureIndexes();
    for (let i = 0; i < readings.length; i += 1000) await events.insertReadings(readings.slice(i, i + 1000));
    // Part of the rollups refreshed: the answers must be exact over clean and dirty hours alike.
    await events.rollups.refresh({ now: new Date(base + 3 * DAY), limit: 900 });
  }, 120_000);

  afterAll(async () => {
    await mongo?.db.dropDatabase();
    await mongo?.close();
  });

  it('counts random sets of devices over random ranges exactly, by GET and by POST', async () => {
    for (let i = 0; i < 12; i++) {
      const devices = Array.from({ length: 1 + random.int(i % 3 === 0 ? 1 : 6) }, () => random.pick(DEVICES));
      const [a, b] = [random.int(2 * DAY + 3_600_000), random.int(2 * DAY + 3_600_000)].sort((x, y) => x - y) as [number, number];
      const [from, to] = [base - 1_800_000 + a, base - 1_800_000 + b + 1];
      const expected = reference(from, to, devices);
      const label = `${devices.join(',')} ${iso(from)}..${iso(to)}`;
      expect(await get(`/status-counts?start_time=${iso(from)}&end_time=${iso(to)}${deviceQuery(devices)}`), label).toEqual({ status: 200, body: expected });
      const posted = await app.request('/status-counts', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ start_time: iso(from), end_time: iso(to), device: devices.length === 1 ? devices[0] : devices }),
      });
      expect(await posted.json(), label).toEqual(expected);
    }
    // Without device: the whole fleet, readings without a device included.
    expect((await get(`/status-counts?start_time=${iso(base)}&end_time=${iso(base + 2 * DAY)}`)).body).toEqual(reference(base, base + 2 * DAY));
  });

  it('answers series of devices whose points each equal the raw counts', async () => {
    for (const [step, stepMs, devices] of [
      ['15m', 900_000, ['sim-0003']],
      ['1h', 3_600_000, ['pump.17', 'valve-2', 'sim-0001.a']],
      ['1d', DAY, DEVICES.slice(0, 25)],
    ] as const) {
      const [start, end] = [base + 3_600_000 + 12_345, base + 40 * 3_600_000 + 678];
      const { status, body } = await get(`/status-counts/series?start_time=${iso(start)}&end_time=${iso(end)}&step=${step}${deviceQuery(devices)}`);
      expect(status).toBe(200);
      const points = body['points'] as { start: string; counts: Record<string, number> }[];
      points.forEach((point, i) => {
        const from = Date.parse(point.start);
        const to = i + 1 < points.length ? Date.parse(points[i + 1]?.start ?? '') : end;
        expect(to - from, point.start).toBeLessThanOrEqual(stepMs);
        expect(point.counts, `${step} ${point.start}`).toEqual(reference(from, to, devices));
      });
    }
  });

  it('lists the devices most often in a status, as counted from the raw readings', async () => {
    const [from, to] = [base + 7_200_000 + 99, base + 30 * 3_600_000];
    for (const status of [0, 5]) {
      const { body } = await get(`/status-counts/top-devices?start_time=${iso(from)}&end_time=${iso(to)}&status=${status}&limit=7`);
      const expected = DEVICES.map((device) => ({ device, count: reference(from, to, [device])[status] ?? 0, counts: reference(from, to, [device]) }))
        .filter(({ count }) => count > 0)
        .sort((a, b) => b.count - a.count || (a.device < b.device ? -1 : 1))
        .slice(0, 7);
      expect(body).toEqual({ status, devices: expected });
    }
  });

  describe('the device directory, once the rollups are refreshed', () => {
    beforeAll(async () => {
      await events.rollups.refresh({ now: new Date(base + 3 * DAY), limit: 100_000 });
    }, 120_000);

    it('walks every device exactly once in id order, page by page, each with its first and last reading and its count', async () => {
      const seen: Record<string, unknown>[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const { status, body } = await get(`/devices?limit=7${cursor === undefined ? '' : `&cursor=${cursor}`}`);
        expect(status).toBe(200);
        seen.push(...(body['devices'] as Record<string, unknown>[]));
        cursor = body['next_cursor'] as string | undefined;
        pages++;
      } while (cursor !== undefined && pages < 20);
      expect(pages).toBe(Math.ceil(DEVICES.length / 7));
      expect(seen.map((entry) => entry['device'])).toEqual([...DEVICES].sort());
      for (const entry of seen) {
        const own = readings.filter((reading) => reading.device === entry['device']).sort((a, b) => a.ts.getTime() - b.ts.getTime());
        expect(entry, String(entry['device'])).toEqual({
          device: entry['device'],
          first_seen: own[0]?.ts.toISOString(),
          last_seen: own.at(-1)?.ts.toISOString(),
          last_status: own.at(-1)?.status,
          readings: own.length,
        });
      }
    });

    it('filters by prefix, and pages within it', async () => {
      const { body } = await get('/devices?prefix=sim-0001');
      expect((body['devices'] as { device: string }[]).map(({ device }) => device)).toEqual(['sim-0001', 'sim-0001.a']);
      const first = await get('/devices?prefix=valve-&limit=2');
      expect((first.body['devices'] as { device: string }[]).map(({ device }) => device)).toEqual(['valve-1', 'valve-2']);
      const rest = await get(`/devices?prefix=valve-&limit=2&cursor=${first.body['next_cursor'] as string}`);
      expect(rest.body['devices']).toEqual([expect.objectContaining({ device: 'valve-3' })]);
      expect(rest.body['next_cursor']).toBeUndefined();
      expect((await get('/devices?prefix=nobody')).body).toEqual({ devices: [] });
    });

    it('refuses bad input with a 400 that names the rule', async () => {
      for (const [path, message] of [
        ['/devices?cursor=6e6f7420616e206964', /cursor is not one this API gave out/],
        ['/devices?limit=1001', /limit must be a whole number from 1 to 1000/],
        ['/devices?prefix=sim%2F', /prefix must be the start of a device id/],
        [`/status-counts?start_time=${iso(base)}&end_time=${iso(base + DAY)}&device=sim%200001`, /device 1 of the list is not a device id: expected 1 to 128 characters of A-Z a-z 0-9 \. _ : -/],
      ] as const) {
        const { status, body } = await get(path);
        expect(status, path).toBe(400);
        expect((body['error'] as { message: string }).message, path).toMatch(message);
      }
    });
  });
});
