import { randomBytes } from 'node:crypto';
import type { ChangedMinute } from '@tally/messaging';
import { seriesShape, shapeRange, type SeriesPoint, type SeriesShape, type SeriesStep, type TimeRange, type TimeZone } from '@tally/store';
import { ApiError } from '../errors';
import { seriesBody } from '../routes/counts';
import { TickHistory } from './history';
import { changedPoints, changedSpans, devicesKey, newPoints, spansOf, windowRange, type Watch } from './plan';
import { SseStream, sseEvent, type CloseReason } from './sse';

/** Announced minutes waiting for a tick at most; past it the tick reads every watched series whole. */
const MAX_PENDING_MINUTES = 50_000;

/** A series to stream: a fixed range, or a window that ends with the current step. */
export interface StreamSpec {
  step: SeriesStep;
  /** The zone of its steps and of the times it writes. */
  zone: TimeZone;
  /** These devices together; `undefined`: the whole fleet. */
  devices?: readonly string[] | undefined;
  /** A fixed range... */
  range?: TimeRange;
  /** ...or the newest this many milliseconds, up to where the next step begins (see ./plan `windowRange`). */
  windowMs?: number;
}

/** Reads the points of `range` (a whole series, or stretches of one). */
export type ReadPoints = (range: TimeRange, spec: StreamSpec) => Promise<SeriesPoint[]>;

/** Where announcements of stored readings come from (the broker's `tally.changes`, see @tally/messaging `ChangeFeed`). */
export interface ChangeSource {
  readonly up: boolean;
  on(event: 'changes', listener: (changes: { minutes: ChangedMinute[] }) => void): unknown;
  on(event: 'up', listener: () => void): unknown;
  on(event: 'down', listener: (error: Error) => void): unknown;
}

export interface LiveMetrics {
  /** Events written to clients, by type (`series`, `points`). */
  eventsSent(type: 'series' | 'points', count: number): void;
  /** The store time of one tick: every read it made, for every connection. */
  tickStore(seconds: number): void;
  /** A stream ended, by why (client, slow, stalled, shutdown). */
  closed(reason: CloseReason): void;
}

export interface LiveHubOptions {
  /** The tick's reads of changed points (and the polls while announcements are not heard). */
  read: ReadPoints;
  /** Announcements of what was stored; `undefined`: none, the hub polls. */
  changes?: ChangeSource | undefined;
  /** @default 1000: a series is read and sent at most this often, so a connection gets at most one event per this */
  tickMs?: number;
  /** @default 50: announcements arriving within this are handled by one tick */
  coalesceMs?: number;
  /** @default 15000 */
  heartbeatMs?: number;
  /** While no announcements are heard, every watched series is read again this often. @default 5000 */
  pollMs?: number;
  /** @default 262144 (see ./sse `SseStream`) */
  maxBufferedBytes?: number;
  /** Stores reads running at once in a tick. @default 4 */
  readConcurrency?: number;
  metrics?: LiveMetrics;
  now?: () => number;
}

/** One stretch a tick reads, for every series that needs it: its points, or why they could not be read. */
interface Read {
  span: TimeRange;
  spec: StreamSpec;
  points?: SeriesPoint[];
  error?: unknown;
}

/** Connections that watch the same series: each point changed is read once for all of them. */
interface Group {
  key: string;
  spec: StreamSpec;
  /** The points its members were last sent (a window's move on). */
  shape: SeriesShape;
  /** Read the whole range when next sent (a read failed, or announcements were missed). */
  stale: boolean;
  /** The points changed since it was last sent (their starts). */
  dirty: Set<number>;
  /** When its members were last sent an event, and the tick's number. */
  lastSentAt: number;
  lastSeq: number;
  /** Its reads fail: its members were told (`unavailable`), once. */
  failing: boolean;
  members: Set<Subscriber>;
}

interface Subscriber {
  group: Group;
  stream: SseStream;
  /** Waiting for its first event, read when the hub's read count was this: only later ticks' points are newer. */
  firstReadAfter?: number;
  lastSentAt: number;
  /** Points not sent yet (it got an event less than a tick ago, or its first is being read), by start. */
  held: Map<number, SeriesPoint>;
}

/** A stream opened by `LiveHub.open`, before its first event. */
export interface Opening {
  /** Reads and sends the first event (the whole series, or what changed since `Last-Event-ID`); the response to answer with. */
  start(read: ReadPoints): Promise<Response>;
  /** Gives the place up (the first read failed). */
  cancel(): void;
}

/**
 * Live series for every connection of this API: a tick marks the points that announcements of
 * stored minutes touch in each series watched; a series last sent `tickMs` ago or more is read
 * (each changed point once, however many watch it) and sent, one event to all its connections.
 */
export class LiveHub {
  readonly #id = randomBytes(4).toString('hex');
  readonly #groups = new Map<string, Group>();
  readonly #history: TickHistory;
  #pending: ChangedMinute[] = [];
  #subscribers = 0;
  /** Reads started so far (ticks' and first events'): orders a first event against ticks. */
  #reads = 0;
  #lastTickAt = -Infinity;
  #lastPollAt: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Infinity;
  #ticking = false;
  /** Announcements may have been missed (the feed was down, or too many waited): the next tick reads everything. */
  #missed = false;
  #closed = false;
  readonly #heartbeat: ReturnType<typeof setInterval>;
  readonly #o: Required<Omit<LiveHubOptions, 'changes' | 'metrics'>> & Pick<LiveHubOptions, 'changes' | 'metrics'>;

  constructor(options: LiveHubOptions) {
    this.#o = { tickMs: 1000, coalesceMs: 50, heartbeatMs: 15_000, pollMs: 5000, maxBufferedBytes: 262_144, readConcurrency: 4, now: Date.now, ...options };
    const now = this.#o.now();
    this.#history = new TickHistory(now);
    this.#lastPollAt = now;
    this.#heartbeat = setInterval(
      () =>
        this.#each((subscriber) => {
          // A stream whose first event is still being read has no reader yet: it cannot have stalled.
          if (subscriber.firstReadAfter === undefined) subscriber.stream.heartbeat();
        }),
      this.#o.heartbeatMs,
    );
    this.#heartbeat.unref();
    this.#o.changes?.on('changes', ({ minutes }) => {
      if (this.#subscribers === 0) return;
      if (this.#pending.length + minutes.length > MAX_PENDING_MINUTES) {
        this.#pending = [];
        this.#missed = true;
      } else this.#pending.push(...minutes);
      this.#wake(this.#o.now());
    });
    // Announcements may have been missed while not subscribed: read everything again once back.
    this.#o.changes?.on('up', () => this.#readAllAgain());
    this.#o.changes?.on('down', () => this.#wake(this.#lastPollAt + this.#o.pollMs));
  }

  /** Streams open now. */
  get size(): number {
    return this.#subscribers;
  }

  /** True while announcements arrive; otherwise every watched series is polled. */
  get live(): boolean {
    return this.#o.changes?.up ?? false;
  }

  /**
   * Takes a place for a stream of `spec` (the caller checked the cap), resuming after `lastEventId`
   * when it can; `abort` closes the client's connection (to drop it).
   */
  open(spec: StreamSpec, { lastEventId, abort }: { lastEventId?: string | undefined; abort?: () => void } = {}): Opening {
    const group = this.#group(spec);
    const subscriber: Subscriber = {
      group,
      stream: new SseStream({ maxBufferedBytes: this.#o.maxBufferedBytes, onClose: (reason) => this.#leave(subscriber, reason), abort }),
      firstReadAfter: this.#reads,
      lastSentAt: -Infinity,
      held: new Map(),
    };
    group.members.add(subscriber);
    this.#subscribers++;
    this.#wakeForWindow(group);
    if (!this.live) this.#wake(this.#lastPollAt + this.#o.pollMs);
    const missed = this.#missedSince(lastEventId, spec);
    return {
      start: async (read) => {
        const now = this.#o.now();
        const shape = this.#shapeOf(spec, now, group.shape);
        const seq = this.#history.seq;
        // And what is announced but not ticked yet: the next tick sends it too, which does no harm.
        const spans = missed && changedSpans({ shape, devices: spec.devices }, [...missed.minutes, ...this.#pending]);
        const points = (await Promise.all((spans ?? [shapeRange(shape)]).map((span) => read(span, spec)))).flat();
        if (subscriber.stream.closed) return new Response(subscriber.stream.body);
        const type = spans ? 'points' : 'series';
        this.#send(subscriber, sseEvent(type, this.#eventId(seq), seriesBody(shapeRange(shape), spec.step, spec.zone, points)), type, this.#o.now());
        delete subscriber.firstReadAfter;
        return new Response(subscriber.stream.body, {
          headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' },
        });
      },
      cancel: () => subscriber.stream.drop('client'),
    };
  }

  /** Ends every stream and stops ticking. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#heartbeat);
    clearTimeout(this.#timer);
    this.#each((subscriber) => subscriber.stream.close());
  }

  #each(visit: (subscriber: Subscriber) => void): void {
    for (const group of [...this.#groups.values()]) for (const subscriber of [...group.members]) visit(subscriber);
  }

  #group(spec: StreamSpec): Group {
    const range = spec.range && `${spec.range.start.getTime()}-${spec.range.end.getTime()}`;
    const key = `${spec.step}|${spec.zone.name}|${devicesKey(spec.devices)}|${spec.windowMs === undefined ? range : `w${spec.windowMs}`}`;
    let group = this.#groups.get(key);
    if (!group) {
      group = { key, spec, shape: this.#shapeOf(spec, this.#o.now()), stale: false, dirty: new Set(), lastSentAt: -Infinity, lastSeq: this.#history.seq, failing: false, members: new Set() };
      this.#groups.set(key, group);
    }
    return group;
  }

  #leave(subscriber: Subscriber, reason: CloseReason): void {
    const { group } = subscriber;
    if (!group.members.delete(subscriber)) return;
    this.#subscribers--;
    this.#o.metrics?.closed(reason);
    if (group.members.size === 0) this.#groups.delete(group.key);
    if (this.#subscribers === 0) this.#pending = [];
  }

  #rangeOf(spec: StreamSpec, now: number): TimeRange {
    return spec.windowMs === undefined ? (spec.range as TimeRange) : windowRange(now, spec.windowMs, spec.step, spec.zone);
  }

  /** The points of `spec` at `now`: `known` (its last) while the range is the same, as a window is while its last point holds `now`. */
  #shapeOf(spec: StreamSpec, now: number, known?: SeriesShape): SeriesShape {
    if (known && (spec.windowMs === undefined || (now >= (known.starts.at(-1) as number) && now < known.end))) return known;
    return seriesShape(this.#rangeOf(spec, now), spec.step, spec.zone) as SeriesShape;
  }

  #eventId(seq: number): string {
    return `${this.#id}.${seq}`;
  }

  /** What a client whose last event was `lastEventId` missed, if this hub still knows. */
  #missedSince(lastEventId: string | undefined, spec: StreamSpec) {
    const [hub, seq] = lastEventId?.split('.') ?? [];
    if (hub !== this.#id || seq === undefined || !/^[0-9]{1,15}$/.test(seq)) return undefined;
    const missed = this.#history.since(Number(seq));
    if (!missed) return undefined;
    // A window that moved on since: its new steps were never sent; the whole series then.
    if (this.#rangeOf(spec, missed.sawAt).end.getTime() !== this.#rangeOf(spec, this.#o.now()).end.getTime()) return undefined;
    return missed;
  }

  #readAllAgain(): void {
    this.#missed = true;
    this.#wake(this.#o.now());
  }

  /** Runs a tick at `at`, or as soon after the last one as ticks may run (a series is sent at most once a `tickMs` whatever the ticks). */
  #wake(at: number): void {
    if (this.#closed || this.#subscribers === 0) return;
    const when = Math.max(at, this.#lastTickAt + this.#o.coalesceMs);
    if (this.#ticking || when >= this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = when;
    this.#timer = setTimeout(() => {
      this.#timerAt = Infinity;
      void this.#tick();
    }, Math.max(0, when - this.#o.now()));
  }

  #wakeForWindow(group: Group): void {
    if (group.spec.windowMs !== undefined) this.#wake(group.shape.end);
  }

  /**
   * Marks what the announcements since the last tick changed in each series watched; then reads,
   * once for all the series that need it, what changed in each series that may be sent again (its
   * last event `tickMs` ago or more), and sends them. The others wait for their turn.
   */
  async #tick(): Promise<void> {
    if (this.#closed) return;
    this.#ticking = true;
    const now = this.#o.now();
    this.#lastTickAt = now;
    const minutes = this.#pending;
    this.#pending = [];
    const poll = (!this.live && now - this.#lastPollAt >= this.#o.pollMs) || this.#missed;
    if (poll) this.#lastPollAt = now;
    this.#missed = false;
    const seq = this.#history.record(now, poll ? 'all' : minutes);
    const readsBefore = this.#reads++;

    const plans: { group: Group; shape: SeriesShape; spans: TimeRange[] }[] = [];
    for (const group of this.#groups.values()) {
      const shape = this.#shapeOf(group.spec, now, group.shape);
      const watch: Watch = { shape, devices: group.spec.devices };
      if (poll) group.stale = true;
      for (const point of [...changedPoints(watch, minutes), ...newPoints(group.shape, shape)]) group.dirty.add(point);
      const due = group.stale || group.dirty.size > 0;
      if (due && now - group.lastSentAt >= this.#o.tickMs) plans.push({ group, shape, spans: group.stale ? [shapeRange(shape)] : spansOf([...group.dirty], watch) });
    }
    const reads = new Map<string, Read>();
    const readKey = (span: TimeRange, spec: StreamSpec) => `${spec.step}|${spec.zone.name}|${devicesKey(spec.devices)}|${span.start.getTime()}|${span.end.getTime()}`;
    for (const { group, spans } of plans) for (const span of spans) reads.set(readKey(span, group.spec), { span, spec: group.spec });
    const started = performance.now();
    await this.#readAll([...reads.values()]);
    if (reads.size > 0) this.#o.metrics?.tickStore((performance.now() - started) / 1000);

    const sent = new Set<Group>();
    for (const { group, shape, spans } of plans) {
      if (this.#groups.get(group.key) !== group) continue;
      const results = spans.map((span) => reads.get(readKey(span, group.spec)) as Read);
      const failed = results.find((read) => read.points === undefined);
      if (failed) {
        group.stale = true;
        if (!group.failing) this.#tell(group, failed.error);
        group.failing = true;
        continue;
      }
      const range = shapeRange(shape);
      const points = results.flatMap((read) => read.points as SeriesPoint[]).filter((point) => point.start >= range.start && point.start < range.end);
      Object.assign(group, { stale: false, failing: false, shape, lastSentAt: now, lastSeq: seq });
      group.dirty.clear();
      this.#deliver(group, { at: now, range, points, seq, readsBefore });
      sent.add(group);
    }
    // Members that joined less than `tickMs` before their series was last sent get what they were held.
    for (const group of this.#groups.values()) if (!sent.has(group)) this.#deliver(group, { at: now, range: shapeRange(group.shape), points: [], seq: group.lastSeq, readsBefore });
    this.#ticking = false;
    this.#scheduleNext();
  }

  /** Reads every stretch, `readConcurrency` at a time; a failed one keeps its error instead of points. */
  async #readAll(reads: Read[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < reads.length) {
        const read = reads[next++] as Read;
        try {
          read.points = await this.#o.read(read.span, read.spec);
        } catch (error) {
          read.error = error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#o.readConcurrency, reads.length) }, worker));
  }

  /**
   * One event for the series' members that may have one now; the others hold the points for later.
   * Ticks start `tickMs` apart: a member sent an event by the previous tick may have this one, one
   * sent its first event less than `tickMs` before this tick began waits for the next.
   */
  #deliver(group: Group, tick: { at: number; range: TimeRange; points: SeriesPoint[]; seq: number; readsBefore: number }): void {
    const { range, points, seq, at: now } = tick;
    const hold = (subscriber: Subscriber) => points.forEach((point) => subscriber.held.set(point.start.getTime(), point));
    let shared: Uint8Array | undefined;
    for (const subscriber of [...group.members]) {
      if (subscriber.firstReadAfter !== undefined) {
        // Its first read, begun after this tick's reads, holds newer counts than they do.
        if (subscriber.firstReadAfter <= tick.readsBefore) hold(subscriber);
      } else if (now - subscriber.lastSentAt < this.#o.tickMs) {
        hold(subscriber);
      } else if (subscriber.held.size > 0) {
        hold(subscriber);
        const mine = [...subscriber.held.values()].filter((point) => point.start >= range.start && point.start < range.end);
        subscriber.held.clear();
        mine.sort((a, b) => a.start.getTime() - b.start.getTime());
        this.#send(subscriber, sseEvent('points', this.#eventId(seq), seriesBody(range, group.spec.step, group.spec.zone, mine)), 'points', now);
      } else if (points.length > 0) {
        shared ??= sseEvent('points', this.#eventId(seq), seriesBody(range, group.spec.step, group.spec.zone, points));
        this.#send(subscriber, shared, 'points', now);
      }
    }
  }

  /** Tells the members of a series whose reads fail why (as the 503 or 504 of a request would); the stream stays open. */
  #tell(group: Group, error: unknown): void {
    const problem = error instanceof ApiError ? error : new ApiError(503, 'unavailable', 'The counts cannot be read now; the stream resumes by itself');
    // Without an id: a client that resumes resumes from the last counts it was sent.
    const event = sseEvent('unavailable', undefined, { status: problem.status, ...problem.toJSON() });
    for (const subscriber of group.members) if (subscriber.firstReadAfter === undefined) subscriber.stream.send(event);
  }

  #send(subscriber: Subscriber, event: Uint8Array, type: 'series' | 'points', now: number): void {
    if (subscriber.stream.send(event)) {
      subscriber.lastSentAt = now;
      this.#o.metrics?.eventsSent(type, 1);
    }
  }

  #scheduleNext(): void {
    if (this.#pending.length > 0 || this.#missed) this.#wake(this.#o.now());
    for (const group of this.#groups.values()) {
      if (group.stale || group.dirty.size > 0) this.#wake(group.lastSentAt + this.#o.tickMs);
      for (const subscriber of group.members) if (subscriber.held.size > 0) this.#wake(subscriber.lastSentAt + this.#o.tickMs);
      if (group.spec.windowMs !== undefined) this.#wake(this.#shapeOf(group.spec, this.#o.now(), group.shape).end);
    }
    if (!this.live && this.#groups.size > 0) this.#wake(this.#lastPollAt + this.#o.pollMs);
  }

}
