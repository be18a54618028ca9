/**
 * The loss checker: what the broker acknowledged to publishers, against what MongoDB holds.
 *
 * A reading is identified by its `id`; one sent without an `id` by its content (device, `ts` and
 * `status`), which is all the processor derives its id from. A stored document counts for the
 * sent reading with its `_id`, else for a sent reading with its content: so one reading stored
 * under two ids shows up as duplicated, not as one stored and one unexpected. A document stored
 * under a sent id with another device, status or time is altered.
 */
import type { StatusEvent } from '@tally/contract';
import { STATUS_KEYS, zeroCounts, type StatusCounts, type StatusKey } from '@tally/store';

/** Readings per status, every status present: the shape of the API's answer. */
export type Tally = StatusCounts;

/** A reading the broker acknowledged (publisher confirm or MQTT PUBACK), with the device it was sent from, if any. */
export type AckedReading = Pick<StatusEvent, 'status' | 'ts' | 'device'> & { id?: string };

/** A document of `status_events` (the contract's shape; `receivedAt` may be left out of a projection). */
export type StoredReading = Omit<StatusEvent, 'receivedAt'> & { receivedAt?: Date };

/**
 * What the broadcaster reports having sent (its `summary` line): `generated` readings due at
 * t0 + n × `intervalMs`, each acknowledged, `sent` of each status. It does not log ids, so its
 * readings are told apart by `ts`; t0 is the earliest stored `ts` within `startedBetween`.
 */
export interface BroadcastReport {
  generated: number;
  intervalMs: number;
  sent: Record<string, number>;
  /** Bounds of the broadcaster's start: before it was spawned, and its first log line. */
  startedBetween: [Date, Date];
}

/** A reading expected in the store: an acknowledged one, or a slot of a broadcaster's schedule. */
export interface ExpectedReading {
  id?: string;
  device?: string;
  /** Unknown for a broadcaster's slot: it reports statuses in total only. */
  status?: number;
  ts: Date;
}

export interface CheckReport {
  /** Acknowledged, never stored. */
  lost: ExpectedReading[];
  /** Stored more than once (under different ids). */
  duplicated: { reading: ExpectedReading; stored: StoredReading[] }[];
  /** Stored, never acknowledged to anyone. */
  unexpected: StoredReading[];
  /** Stored under the id that was sent, with another status or time. */
  altered: { reading: ExpectedReading; stored: StoredReading }[];
}

/** A reading's content: what the processor derives the id of a reading without `id` from. */
const contentKey = ({ device, ts, status }: { device?: string; ts: Date; status?: number }) =>
  `${device ?? ''}|${ts.getTime()}|${status}`;

function isStatusKey(key: string): key is StatusKey {
  return (STATUS_KEYS as readonly string[]).includes(key);
}

export class Checker {
  readonly #byId = new Map<string, AckedReading>();
  readonly #byContent = new Map<string, AckedReading>();
  readonly #broadcasts: BroadcastReport[] = [];

  /**
   * Records a reading once the broker acknowledged it. Recording it again (a retry, a deliberate
   * second publish) is the same reading; the same id with other content is a mistake of the test.
   */
  acked(reading: AckedReading): void {
    const copy = { ...reading, ts: new Date(reading.ts) };
    if (copy.id === undefined) {
      this.#byContent.set(contentKey(copy), copy);
      return;
    }
    const known = this.#byId.get(copy.id);
    if (known && contentKey(known) !== contentKey(copy)) {
      throw new Error(`Reading ${copy.id} was recorded twice with different content`);
    }
    this.#byId.set(copy.id, copy);
  }

  /** Records a broadcaster's report of what it generated and had acknowledged. */
  broadcast(report: BroadcastReport): void {
    if (!Number.isInteger(report.intervalMs) || report.intervalMs <= 0) {
      throw new Error('A broadcast is checked by its schedule: give it an interval of whole milliseconds');
    }
    const sent = Object.values(report.sent).reduce((sum, n) => sum + n, 0);
    if (sent !== report.generated) {
      throw new Error(`The broadcaster generated ${report.generated} readings but reports ${sent} acknowledged`);
    }
    this.#broadcasts.push(report);
  }

  /** How many distinct readings were acknowledged. */
  get count(): number {
    return this.#byId.size + this.#byContent.size + this.#broadcasts.reduce((sum, b) => sum + b.generated, 0);
  }

  /** The acknowledged readings per status: what the API must count. */
  get tally(): Tally {
    const tally = zeroCounts();
    for (const reading of [...this.#byId.values(), ...this.#byContent.values()]) {
      const key = String(reading.status);
      if (!isStatusKey(key)) throw new Error(`Reading with status ${reading.status} recorded as acknowledged`);
      tally[key] += 1;
    }
    for (const { sent } of this.#broadcasts) {
      for (const [key, n] of Object.entries(sent)) {
        if (!isStatusKey(key)) throw new Error(`Broadcast report with status ${key}`);
        tally[key] += n;
      }
    }
    return tally;
  }

  /** Compares what was acknowledged with `stored`, every document of the collection. */
  compare(stored: readonly StoredReading[]): CheckReport {
    const matches = new Map<ExpectedReading, StoredReading[]>();
    const match = (reading: ExpectedReading, doc: StoredReading) => {
      const list = matches.get(reading);
      if (list) list.push(doc);
      else matches.set(reading, [doc]);
    };
    const report: CheckReport = { lost: [], duplicated: [], unexpected: [], altered: [] };

    // Readings without id first: a document under an id nobody sent is theirs before anyone's.
    const byContent = new Map<string, AckedReading[]>();
    for (const reading of [...this.#byContent.values(), ...this.#byId.values()]) {
      const key = contentKey(reading);
      byContent.set(key, [...(byContent.get(key) ?? []), reading]);
    }
    const unknownIds: StoredReading[] = [];
    for (const doc of stored) {
      const sent = this.#byId.get(doc._id);
      if (!sent) {
        unknownIds.push(doc);
        continue;
      }
      match(sent, doc);
      if (contentKey(sent) !== contentKey(doc)) {
        report.altered.push({ reading: sent, stored: doc });
      }
    }
    let rest: StoredReading[] = [];
    for (const doc of unknownIds) {
      const candidates = byContent.get(contentKey(doc));
      if (candidates?.[0]) match(candidates.find((c) => !matches.has(c)) ?? candidates[0], doc);
      else rest.push(doc);
    }

    const slots: ExpectedReading[] = [];
    for (const broadcast of this.#broadcasts) {
      const { matched, unmatched, expected } = matchSchedule(broadcast, rest);
      rest = unmatched;
      slots.push(...expected);
      for (const [slot, docs] of matched) for (const doc of docs) match(slot, doc);
    }
    report.unexpected = rest;

    for (const reading of [...this.#byId.values(), ...this.#byContent.values(), ...slots]) {
      const docs = matches.get(reading) ?? [];
      if (docs.length === 0) report.lost.push(reading);
      else if (docs.length > 1) report.duplicated.push({ reading, stored: docs });
    }
    return report;
  }
}

function matchSchedule(
  broadcast: BroadcastReport,
  docs: readonly StoredReading[],
): { matched: Map<ExpectedReading, StoredReading[]>; unmatched: StoredReading[]; expected: ExpectedReading[] } {
  const [earliest, latest] = broadcast.startedBetween.map((d) => d.getTime()) as [number, number];
  const t0 = docs
    .map((doc) => doc.ts.getTime())
    .filter((t) => t >= earliest && t <= latest)
    .reduce((min, t) => Math.min(min, t), Infinity);
  const start = Number.isFinite(t0) ? t0 : earliest;
  const expected = Array.from({ length: broadcast.generated }, (_, n) => ({
    ts: new Date(start + n * broadcast.intervalMs),
  }));
  const matched = new Map<ExpectedReading, StoredReading[]>();
  const unmatched: StoredReading[] = [];
  for (const doc of docs) {
    const n = (doc.ts.getTime() - start) / broadcast.intervalMs;
    const slot = Number.isInteger(n) ? expected[n] : undefined;
    if (!slot) {
      unmatched.push(doc);
      continue;
    }
    matched.set(slot, [...(matched.get(slot) ?? []), doc]);
  }
  return { matched, unmatched, expected };
}

/** Per status, the documents of `stored`. */
export function tallyOf(stored: readonly { status: number }[]): Tally {
  const tally = zeroCounts();
  for (const { status } of stored) {
    const key = String(status);
    if (isStatusKey(key)) tally[key] += 1;
  }
  return tally;
}

/**
 * Pairs of documents that, sorted by `ts`, were received out of order: the later reading
 * received strictly before the earlier one. Equal `receivedAt` (one batch, one millisecond) is
 * in order.
 */
export function orderViolations(stored: readonly StoredReading[]): [StoredReading, StoredReading][] {
  const sorted = [...stored].sort((a, b) => a.ts.getTime() - b.ts.getTime());
  const violations: [StoredReading, StoredReading][] = [];
  for (let i = 1; i < sorted.length; i++) {
    const [before, after] = [sorted[i - 1], sorted[i]] as [StoredReading, StoredReading];
    if (!before.receivedAt || !after.receivedAt) throw new Error(`Document ${after._id} has no receivedAt`);
    if (after.receivedAt.getTime() < before.receivedAt.getTime()) violations.push([before, after]);
  }
  return violations;
}
