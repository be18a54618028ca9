import { randomUUID } from 'node:crypto';
import { createTestVhost, testDatabase, waitForDevstack, waitUntil, type TestVhost } from '@tally/devstack';
import type { StatusEvent } from '@tally/contract';
import { ChangeFeed, changesOf, createAmqpConnection, createChangeAnnouncer, type ChangeAnnouncer } from '@tally/messaging';
import { createMongoConnection, createStatusEventStore, formatInZone, timeZone, type MongoConnection, type StatusEventStore, type TimeZone } from '@tally/store';
import type { Connection } from 'rabbitmq-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../app';
import { countsStoreOver, type CountsStore } from '../store';
import { readEvents, type ReceivedEvent } from '../test/sse-client';
import { LiveHub } from './hub';
import { storeReads } from './routes';

/*
 * Live streams over the devstack: readings stored in the MongoDB-wire server and announced on
 * RabbitMQ's tally.changes, as the processor does, reach every stream that watches them.
 */
const MINUTE = 60_000;
const HOUR = 3_600_000;
const zero = { 0: 0, 1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 0 };

let vhost: TestVhost;
let mongo: MongoConnection;
let events: StatusEventStore;
let connections: Connection[];
let feed: ChangeFeed;
let announcer: ChangeAnnouncer;
let hub: LiveHub;
let app: ReturnType<typeof createApp>;
/** The store's series reads so far (first events and ticks alike). */
let reads = 0;
let store: CountsStore;

const now = Date.now();
const range = { start: Math.floor(now / MINUTE) * MINUTE - 5 * MINUTE, end: Math.floor(now / MINUTE) * MINUTE + 5 * MINUTE };
const url = `/status-counts/stream?start_time=${new Date(range.start).toISOString()}&end_time=${new Date(range.end).toISOString()}&step=1m`;
const minuteOf = (ts: Date) => new Date(Math.floor(ts.getTime() / MINUTE) * MINUTE).toISOString();

/** Stores a reading, and (unless told not to) announces it as the processor does. */
async function storeReading(status: number, { device = 'pump-1', announce = true, ts = new Date(now) } = {}): Promise<StatusEvent> {
  const reading: StatusEvent = { _id: randomUUID(), status, ts, receivedAt: new Date(), device };
  await events.insertReadings([reading]);
  if (announce) announcer.announce(changesOf([reading]));
  return reading;
}

const countsIn = (event: ReceivedEvent, minute: string) => event.data.points.find((point) => point.start === minute)?.counts;

beforeAll(async () => {
  const urls = await waitForDevstack();
  vhost = await createTestVhost(urls, 'live');
  mongo = createMongoConnection({ uri: testDatabase(urls.mongodbUri, 'api_live').uri });
  events = createStatusEventStore({ db: mongo.db });
  await events.ensureIndexes();
  const plain = countsStoreOver(mongo);
  store = { ...plain, series: (...args) => (reads++, plain.series(...args)) };
  connections = [createAmqpConnection({ url: vhost.amqpUrl, connectionName: 'live-feed' }), createAmqpConnection({ url: vhost.amqpUrl, connectionName: 'live-announcer' })];
  feed = new ChangeFeed(connections[0] as Connection);
  announcer = createChangeAnnouncer(connections[1] as Connection);
  await waitUntil('the feed and the announcer', async () => feed.up && (connections[1] as Connection).ready, { timeoutMs: 30_000 });
  hub = new LiveHub({ read: storeReads({ store, requestTimeoutMs: 10_000 }), changes: feed });
  app = createApp({ store, live: { hub, maxStreams: 50 } });
});

afterAll(async () => {
  hub?.close();
  await feed?.close();
  await announcer?.close();
  for (const connection of connections ?? []) await connection.close();
  await vhost?.dispose();
  await mongo?.db.dropDatabase();
  await mongo?.close();
});

describe('GET /status-counts/stream', () => {
  it('sends the series, then each announced change to every stream that watches it, read once for all of them; resumes after Last-Event-ID', async () => {
    const one = readEvents(await app.request(url));
    const series = await one.next((event) => event.type === 'series');
    expect(series.data.points).toHaveLength(10);
    expect(series.data.points.every((point) => JSON.stringify(point.counts) === JSON.stringify(zero))).toBe(true);

    let before = reads;
    const first = await storeReading(3);
    const changed = await one.next((event) => event.type === 'points');
    expect(changed.data.points).toEqual([{ start: minuteOf(first.ts), counts: { ...zero, 3: 1 } }]);
    const readsForOne = reads - before;

    // Six streams of the series, one of another device's: the next change costs the same reads.
    const many = [one, ...(await Promise.all(Array.from({ length: 5 }, async () => readEvents(await app.request(url)))))];
    const other = readEvents(await app.request(`${url}&device=pump-2`));
    for (const stream of [...many, other]) await stream.next((event) => event.type === 'series');
    before = reads;
    await storeReading(3);
    for (const stream of many) await stream.next((event) => countsIn(event, minuteOf(first.ts))?.['3'] === 2);
    expect(reads - before).toBe(readsForOne);
    expect(other.events.filter((event) => event.type === 'points')).toEqual([]);

    // A client that left resumes with what changed since its last event; an id from elsewhere gets the whole series.
    const lastId = one.events.at(-1)?.id as string;
    await one.close();
    await storeReading(5, { device: 'pump-2' });
    await other.next((event) => event.type === 'points');
    const resumed = readEvents(await app.request(url, { headers: { 'last-event-id': lastId } }));
    const missed = await resumed.next(() => true);
    expect([missed.type, missed.data.points]).toEqual(['points', [{ start: minuteOf(first.ts), counts: { ...zero, 3: 2, 5: 1 } }]]);
    const stranger = readEvents(await app.request(url, { headers: { 'last-event-id': 'elsewhere.7' } }));
    expect((await stranger.next(() => true)).type).toBe('series');
    for (const stream of [...many.slice(1), other, resumed, stranger]) await stream.close();
  });

  it('polls the store while no announcement is heard, drops a client that leaves its events unread, and ends every stream at shutdown', async () => {
    const polling = new LiveHub({ read: storeReads({ store, requestTimeoutMs: 10_000 }), pollMs: 300, heartbeatMs: 100, maxBufferedBytes: 4096 });
    const served = createApp({ store, live: { hub: polling, maxStreams: 10 } });
    const reading = readEvents(await served.request(url));
    const series = await reading.next((event) => event.type === 'series');
    const unread = await served.request(url);
    const stored = await storeReading(6, { announce: false });
    const counted = (countsIn(series, minuteOf(stored.ts))?.['6'] ?? 0) + 1;
    await reading.next((event) => event.type === 'points' && countsIn(event, minuteOf(stored.ts))?.['6'] === counted);

    await waitUntil('the unread stream dropped', async () => polling.size === 1, { timeoutMs: 30_000 });
    await expect((unread.body as ReadableStream).getReader().read()).rejects.toThrow(/dropped/);

    polling.close();
    await waitUntil('the stream ended', async () => reading.end === 'ended', { timeoutMs: 30_000 });
    expect(polling.size).toBe(0);
  });

  it('streams a series in a time zone as the series answers it (Asia/Kathmandu: hours from :15 UTC, the first clipped), and resumes it after Last-Event-ID', async () => {
    const kathmandu = timeZone('Asia/Kathmandu') as TimeZone;
    const minute = Math.floor(now / MINUTE) * MINUTE;
    const query = new URLSearchParams({ start_time: new Date(minute - 3 * HOUR + 7 * MINUTE).toISOString(), end_time: new Date(minute + 2 * HOUR).toISOString(), step: '1h', tz: kathmandu.name });
    const series = async (given = query) => (await (await app.request(`/status-counts/series?${given}`)).json()) as ReceivedEvent['data'];
    const [stream, watcher] = [readEvents(await app.request(`/status-counts/stream?${query}`)), readEvents(await app.request(`/status-counts/stream?${query}`))];
    const first = await stream.next((event) => event.type === 'series');
    expect(first.data).toEqual(await series());
    await watcher.next((event) => event.type === 'series');

    // Half past an hour UTC: in the Kathmandu hour that began at a quarter past the hour before.
    const ts = new Date(Math.floor(now / HOUR) * HOUR - 30 * MINUTE);
    const hour = formatInZone(ts.getTime() - 15 * MINUTE, kathmandu);
    const fours = (data: ReceivedEvent['data']) => data.points.find((point) => point.start === hour)?.counts['4'] ?? 0;
    /** Every point of `event` is the series' point, read now. */
    const expectSeriesPoints = async (event: ReceivedEvent) => {
      const read = await series();
      expect([event.data.start_time, event.data.end_time]).toEqual([read.start_time, read.end_time]);
      for (const point of event.data.points) expect(point).toEqual(read.points.find((p) => p.start === point.start));
    };
    await storeReading(4, { ts });
    await expectSeriesPoints(await stream.next((event) => event.type === 'points' && fours(event.data) === fours(first.data) + 1));

    // Gone, and back after a reading it missed: what changed, in its zone's hours.
    const lastId = stream.events.at(-1)?.id as string;
    await stream.close();
    await storeReading(4, { ts });
    await watcher.next((event) => fours(event.data) === fours(first.data) + 2);
    const resumed = readEvents(await app.request(`/status-counts/stream?${query}`, { headers: { 'last-event-id': lastId } }));
    const missed = await resumed.next(() => true);
    expect([missed.type, fours(missed.data)]).toEqual(['points', fours(first.data) + 2]);
    await expectSeriesPoints(missed);

    // A window ends where the zone's next hour begins.
    const window = readEvents(await app.request(`/status-counts/stream?window=3h&step=1h&tz=${kathmandu.name}`));
    const latest = (await window.next(() => true)).data;
    expect(latest.end_time).toMatch(/T\d\d:00:00\.000\+05:45$/);
    expect(latest).toEqual(await series(new URLSearchParams({ start_time: latest.start_time, end_time: latest.end_time, step: '1h', tz: kathmandu.name })));
    for (const reader of [watcher, resumed, window]) await reader.close();
  });
});
