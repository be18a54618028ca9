import { describe, expect, it } from 'vitest';
import { Checker, orderViolations, tallyOf, type StoredReading } from './checker';

const t = (ms: number) => new Date(Date.UTC(2026, 5, 1) + ms);
const doc = (_id: string, status: number, ms: number, receivedMs = ms): StoredReading => ({
  _id,
  status,
  ts: t(ms),
  receivedAt: t(receivedMs),
});

describe('Checker', () => {
  it('reports nothing when every acknowledged reading is stored once', () => {
    const checker = new Checker();
    checker.acked({ id: 'a', status: 1, ts: t(0) });
    checker.acked({ id: 'b', status: 6, ts: t(10) });
    checker.acked({ status: 3, ts: t(20) });
    const report = checker.compare([doc('a', 1, 0), doc('b', 6, 10), doc('derived-1', 3, 20)]);
    expect(report).toEqual({ lost: [], duplicated: [], unexpected: [], altered: [] });
    expect(checker.count).toBe(3);
    expect(checker.tally).toEqual({ 0: 0, 1: 1, 2: 0, 3: 1, 4: 0, 5: 0, 6: 1 });
  });

  it('counts a reading acknowledged twice (a retry) once', () => {
    const checker = new Checker();
    checker.acked({ id: 'a', status: 1, ts: t(0) });
    checker.acked({ id: 'a', status: 1, ts: t(0) });
    checker.acked({ status: 2, ts: t(5) });
    checker.acked({ status: 2, ts: t(5) });
    expect(checker.count).toBe(2);
    expect(checker.tally['1'] + checker.tally['2']).toBe(2);
  });

  it('tells readings without id apart by their device: equal content from three devices is three readings', () => {
    const checker = new Checker();
    for (const device of ['a', 'b', 'c']) checker.acked({ device, status: 3, ts: t(0) });
    expect(checker.count).toBe(3);
    const stored = ['a', 'b', 'c'].map((device, i) => ({ ...doc(`derived-${i}`, 3, 0), device }));
    expect(checker.compare(stored)).toEqual({ lost: [], duplicated: [], unexpected: [], altered: [] });
    // Stored as one (an id that ignores the device): two lost.
    expect(checker.compare(stored.slice(0, 1)).lost).toHaveLength(2);
    // Stored without its device: lost, and a document nobody sent.
    const report = checker.compare([...stored.slice(0, 2), doc('derived-2', 3, 0)]);
    expect(report.lost).toEqual([{ device: 'c', status: 3, ts: t(0) }]);
    expect(report.unexpected).toEqual([doc('derived-2', 3, 0)]);
  });

  it('reports a reading stored under its id with another device as altered', () => {
    const checker = new Checker();
    checker.acked({ id: 'a', device: 'pump-17', status: 1, ts: t(0) });
    const stored = { ...doc('a', 1, 0), device: 'pump-18' };
    expect(checker.compare([stored]).altered).toEqual([{ reading: { id: 'a', device: 'pump-17', status: 1, ts: t(0) }, stored }]);
  });

  it('refuses one id recorded with two contents', () => {
    const checker = new Checker();
    checker.acked({ id: 'a', status: 1, ts: t(0) });
    expect(() => checker.acked({ id: 'a', status: 2, ts: t(0) })).toThrow(/different content/);
  });

  it('reports an acknowledged reading that is not stored as lost', () => {
    const checker = new Checker();
    checker.acked({ id: 'a', status: 1, ts: t(0) });
    checker.acked({ status: 4, ts: t(7) });
    const report = checker.compare([]);
    expect(report.lost).toEqual([
      { id: 'a', status: 1, ts: t(0) },
      { status: 4, ts: t(7) },
    ]);
  });

  it('reports a reading stored under its id and under another id as duplicated', () => {
    const checker = new Checker();
    checker.acked({ id: 'a', status: 1, ts: t(0) });
    const report = checker.compare([doc('a', 1, 0), doc('other', 1, 0)]);
    expect(report.duplicated).toEqual([{ reading: { id: 'a', status: 1, ts: t(0) }, stored: [doc('a', 1, 0), doc('other', 1, 0)] }]);
    expect(report.unexpected).toEqual([]);
    expect(report.lost).toEqual([]);
  });

  it('reports a reading sent without id and stored under two ids as duplicated', () => {
    const checker = new Checker();
    checker.acked({ status: 5, ts: t(3) });
    const report = checker.compare([doc('x', 5, 3), doc('y', 5, 3)]);
    expect(report.duplicated).toHaveLength(1);
    expect(report.duplicated[0]?.stored.map((d) => d._id)).toEqual(['x', 'y']);
  });

  it('tells apart two readings of the same content by their ids', () => {
    const checker = new Checker();
    checker.acked({ id: 'a', status: 2, ts: t(0) });
    checker.acked({ id: 'b', status: 2, ts: t(0) });
    expect(checker.compare([doc('a', 2, 0), doc('b', 2, 0)])).toEqual({ lost: [], duplicated: [], unexpected: [], altered: [] });
    const report = checker.compare([doc('a', 2, 0), doc('c', 2, 0)]);
    expect(report.lost.map((r) => r.id)).toEqual([]);
    expect(report.duplicated).toEqual([]);
    // 'c' has b's content: b stored under another id, neither lost nor unexpected.
    expect(report.unexpected).toEqual([]);
  });

  it('gives a document under an unknown id to a reading sent without id before one sent with an id', () => {
    const checker = new Checker();
    checker.acked({ id: 'a', status: 2, ts: t(0) });
    checker.acked({ status: 2, ts: t(0) });
    expect(checker.compare([doc('derived', 2, 0), doc('a', 2, 0)])).toEqual({
      lost: [],
      duplicated: [],
      unexpected: [],
      altered: [],
    });
  });

  it('reports a document nobody sent as unexpected', () => {
    const checker = new Checker();
    checker.acked({ id: 'a', status: 1, ts: t(0) });
    const report = checker.compare([doc('a', 1, 0), doc('z', 1, 1)]);
    expect(report.unexpected).toEqual([doc('z', 1, 1)]);
    expect(report.lost).toEqual([]);
  });

  it('reports a document stored under a sent id with other content as altered', () => {
    const checker = new Checker();
    checker.acked({ id: 'a', status: 1, ts: t(0) });
    const report = checker.compare([doc('a', 2, 0)]);
    expect(report.altered).toEqual([{ reading: { id: 'a', status: 1, ts: t(0) }, stored: doc('a', 2, 0) }]);
  });

  describe('with a broadcaster report', () => {
    const report = (generated: number, sent: Record<string, number>) => ({
      generated,
      intervalMs: 20,
      sent,
      startedBetween: [t(-50), t(30)] as [Date, Date],
    });

    it('matches the documents to the schedule from the earliest start within the bounds', () => {
      const checker = new Checker();
      checker.broadcast(report(3, { 0: 1, 4: 2 }));
      const stored = [doc('a', 0, 10), doc('b', 4, 30), doc('c', 4, 50)];
      expect(checker.compare(stored)).toEqual({ lost: [], duplicated: [], unexpected: [], altered: [] });
      expect(checker.count).toBe(3);
      expect(checker.tally).toEqual({ 0: 1, 1: 0, 2: 0, 3: 0, 4: 2, 5: 0, 6: 0 });
    });

    it('reports a missing slot as lost, a slot stored twice as duplicated, an off-schedule one as unexpected', () => {
      const checker = new Checker();
      checker.broadcast(report(4, { 1: 4 }));
      const stored = [doc('a', 1, 10), doc('b', 1, 30), doc('b2', 1, 30), doc('d', 1, 70), doc('e', 1, 75), doc('f', 1, 90)];
      const result = checker.compare(stored);
      expect(result.lost).toEqual([{ ts: t(50) }]);
      expect(result.duplicated).toEqual([{ reading: { ts: t(30) }, stored: [doc('b', 1, 30), doc('b2', 1, 30)] }]);
      expect(result.unexpected).toEqual([doc('e', 1, 75), doc('f', 1, 90)]);
    });

    it('reports a lost first reading as a lost slot', () => {
      const checker = new Checker();
      checker.broadcast(report(3, { 2: 3 }));
      const result = checker.compare([doc('b', 2, 30), doc('c', 2, 50)]);
      expect(result.lost).toHaveLength(1);
    });

    it('refuses a report whose statuses do not add up to what was generated', () => {
      expect(() => new Checker().broadcast(report(3, { 2: 2 }))).toThrow(/reports 2 acknowledged/);
    });

    it('matches the other readings first', () => {
      const checker = new Checker();
      checker.broadcast(report(2, { 3: 2 }));
      checker.acked({ id: 'x', status: 3, ts: t(30) });
      const stored = [doc('a', 3, 0), doc('x', 3, 30), doc('b', 3, 20)];
      expect(checker.compare(stored)).toEqual({ lost: [], duplicated: [], unexpected: [], altered: [] });
    });
  });
});

describe('tallyOf', () => {
  it('counts documents per status, every status present', () => {
    expect(tallyOf([{ status: 0 }, { status: 6 }, { status: 6 }])).toEqual({ 0: 1, 1: 0, 2: 0, 3: 0, 4: 0, 5: 0, 6: 2 });
  });
});

describe('orderViolations', () => {
  it('accepts receipts in the order of ts, ties included', () => {
    expect(orderViolations([doc('b', 0, 20, 105), doc('a', 0, 10, 100), doc('c', 0, 30, 105)])).toEqual([]);
  });

  it('reports a later reading received before an earlier one', () => {
    const early = doc('a', 0, 10, 200);
    const late = doc('b', 0, 20, 150);
    expect(orderViolations([late, early])).toEqual([[early, late]]);
  });
});
