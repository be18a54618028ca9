import { describe, expect, it } from 'vitest';
import { buildStatusCountPipeline, toStatusCounts } from './status-counts';

describe('buildStatusCountPipeline', () => {
  it('matches [start, end) on ts, then groups by status with $sum', () => {
    const start = new Date('2026-01-01T00:00:00Z');
    const end = new Date('2026-01-02T00:00:00Z');
    expect(buildStatusCountPipeline({ start, end })).toEqual([
      { $match: { ts: { $gte: start, $lt: end } } },
      { $group: { _id: '$status', count: { $sum: 1 } } },
    ]);
  });

  it('matches several ranges with one $or', () => {
    const [a, b, c, d] = [0, 1, 5, 6].map((t) => new Date(t));
    expect(buildStatusCountPipeline({ start: a as Date, end: b as Date }, { start: c as Date, end: d as Date })[0]).toEqual({
      $match: { $or: [{ ts: { $gte: a, $lt: b } }, { ts: { $gte: c, $lt: d } }] },
    });
  });

  it('uses only stages and operators that MongoDB and both FerretDB versions run', () => {
    const json = JSON.stringify(buildStatusCountPipeline({ start: new Date(0), end: new Date(1) }));
    const operators = [...json.matchAll(/"(\$[a-zA-Z]+)":/g)].map((m) => m[1]);
    expect(new Set(operators)).toEqual(new Set(['$match', '$gte', '$lt', '$group', '$sum']));
  });
});

describe('toStatusCounts', () => {
  it('reports all seven statuses, zeros included', () => {
    expect(toStatusCounts([{ _id: 3, count: 5 }])).toEqual({ 0: 0, 1: 0, 2: 0, 3: 5, 4: 0, 5: 0, 6: 0 });
  });

  it('ignores groups that are not statuses 0..6', () => {
    expect(toStatusCounts([{ _id: 7, count: 1 }, { _id: null, count: 2 }, { _id: 0, count: 4 }])).toMatchObject({
      0: 4,
    });
    expect(Object.keys(toStatusCounts([{ _id: 9, count: 1 }]))).toEqual(['0', '1', '2', '3', '4', '5', '6']);
  });
});
