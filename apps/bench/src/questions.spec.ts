import { fleetDeviceIds } from '@tally/contract';
import { describe, expect, it } from 'vitest';
import { DEVICE_PAGE, pickDevices, queryKinds, QUERY_START, randomStart, SPAN_DAYS, DAY_MS, type QueryKind } from './questions';

const devices = fleetDeviceIds(10_000);
const fleet = { devices, cursors: Array.from({ length: 99 }, (_, k) => `c${k}`) };
/** A fixed sequence of "random" numbers, so that each question is known. */
const sequence = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length] as number;
};
const kind = (name: string) => queryKinds().find((k) => k.name === name) as QueryKind;
const counts = (n: number) => ({ '0': n, '1': 0, '2': 0, '3': 0, '4': 0, '5': 0, '6': n });

describe('queryKinds', () => {
  it('asks what issue 25 measures: the fleet as before, one device per range, series of 1 and 10 devices, a page of devices', () => {
    expect(queryKinds().map((k) => [k.scope, k.name])).toEqual([
      ['fleet', 'POST /status-counts, 1 minute'],
      ['fleet', 'POST /status-counts, 1 hour'],
      ['fleet', 'POST /status-counts, 1 day'],
      ['fleet', 'POST /status-counts, 30 days'],
      ['fleet', 'GET /status-counts/series, 30 days at 1 h'],
      ['devices', 'GET /status-counts, 1 device, 1 minute'],
      ['devices', 'GET /status-counts, 1 device, 1 hour'],
      ['devices', 'GET /status-counts, 1 device, 1 day'],
      ['devices', 'GET /status-counts, 1 device, 30 days'],
      ['devices', 'GET /status-counts/series, 1 device, 30 days at 1 h'],
      ['devices', 'GET /status-counts/series, 10 devices, 30 days at 1 h'],
      ['directory', `GET /devices, ${DEVICE_PAGE} a page`],
    ]);
  });

  it("asks a device's count with GET and the device as a query parameter", () => {
    const question = kind('GET /status-counts, 1 device, 1 hour').ask(fleet, sequence(0, 0.5));
    expect(question.method).toBe('GET');
    expect(question.path).toBe('/status-counts?start_time=2026-01-01T00:00:00.000Z&end_time=2026-01-01T01:00:00.000Z&device=sim-05001');
    expect(question.read(JSON.stringify(counts(2)))).toEqual({ comparable: counts(2), total: 4 });
  });

  it('asks the fleet as before, with POST and no device', () => {
    const question = kind('POST /status-counts, 30 days').ask(fleet, sequence(0.7));
    expect([question.method, question.path, question.body]).toEqual([
      'POST',
      '/status-counts',
      { start_time: '2026-01-01T00:00:00.000Z', end_time: '2026-01-31T00:00:00.000Z' },
    ]);
  });

  it("asks a series of distinct devices from a whole hour, and adds its points up to the raw pipeline's total", () => {
    const question = kind('GET /status-counts/series, 10 devices, 30 days at 1 h').ask(fleet, sequence(0.5, 0, 0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9));
    const url = new URL(question.path, 'http://x');
    expect(url.pathname).toBe('/status-counts/series');
    expect(url.searchParams.get('step')).toBe('1h');
    expect(Date.parse(url.searchParams.get('start_time') ?? '') % 3_600_000).toBe(0);
    expect(new Set(url.searchParams.getAll('device')).size).toBe(10);
    const body = JSON.stringify({ points: [{ start: 'a', counts: counts(1) }, { start: 'b', counts: counts(2) }] });
    expect(question.read(body)).toEqual({ comparable: counts(3), total: 6 });
  });

  it('pages the device directory at a random page through the cursor it was given, then by a random prefix, in turn', () => {
    const page = kind(`GET /devices, ${DEVICE_PAGE} a page`);
    expect(page.ask(fleet, sequence(0.5)).path).toBe(`/devices?limit=${DEVICE_PAGE}&cursor=c49`);
    const byPrefix = page.ask(fleet, sequence(0.5));
    expect(byPrefix.path).toBe(`/devices?limit=${DEVICE_PAGE}&prefix=sim-050`);
    const body = { devices: [{ device: 'sim-05000', first_seen: '2026-01-01T00:00:00.000Z', last_seen: '2026-01-02T00:00:00.000Z', last_status: 3, readings: 7 }] };
    expect(byPrefix.read(JSON.stringify(body))).toEqual({
      comparable: [{ device: 'sim-05000', readings: 7, first_seen: QUERY_START, last_seen: QUERY_START + DAY_MS }],
      total: 1,
    });
  });
});

describe('randomStart', () => {
  it('keeps the range within the stored span', () => {
    expect(randomStart(DAY_MS, () => 0)).toBe(QUERY_START);
    expect(randomStart(DAY_MS, () => 0.999_999_999_9)).toBe(QUERY_START + (SPAN_DAYS - 1) * DAY_MS);
  });
});

describe('pickDevices', () => {
  it('picks distinct devices, at most the fleet', () => {
    expect(pickDevices(['a', 'b', 'c'], 2, sequence(0, 0, 0.5))).toEqual(['a', 'b']);
    expect(pickDevices(['a', 'b'], 10, sequence(0, 0.5)).sort()).toEqual(['a', 'b']);
  });
});
