import { describe, expect, it } from 'vitest';
import { coalesceRaw, coverageAfterRebuild, expiryProblem, floorTo, HOUR, MINUTE, planByBoundaries, planRange, ROLLUP_LEVELS, type Segment } from './rollup-plan';

const t = (iso: string) => Date.parse(iso);
const range = (start: string, end: string) => ({ start: new Date(start), end: new Date(end) });
const show = (segments: Segment[]) =>
  segments.map((s) =>
    s.kind === 'raw'
      ? `raw ${new Date(s.start).toISOString()}..${new Date(s.end).toISOString()}`
      : `${s.level.name} ${new Date(s.start).toISOString()}`,
  );

describe('floorTo', () => {
  it('rounds down to a multiple, before 1970 too', () => {
    expect(floorTo(t('2026-01-01T10:37:12.345Z'), 60_000)).toBe(t('2026-01-01T10:37:00Z'));
    expect(floorTo(t('1969-12-31T23:59:30Z'), 60_000)).toBe(t('1969-12-31T23:59:00Z'));
    expect(floorTo(t('2026-01-01T10:00:00Z'), 3_600_000)).toBe(t('2026-01-01T10:00:00Z'));
  });
});

describe('planRange', () => {
  it('takes the coarsest whole buckets and counts the unaligned ends raw', () => {
    expect(show(planRange(range('2026-01-01T22:58:30Z', '2026-01-03T01:02:00.500Z')))).toEqual([
      'raw 2026-01-01T22:58:30.000Z..2026-01-01T22:59:00.000Z',
      'minute 2026-01-01T22:59:00.000Z',
      'hour 2026-01-01T23:00:00.000Z',
      'day 2026-01-02T00:00:00.000Z',
      'hour 2026-01-03T00:00:00.000Z',
      'minute 2026-01-03T01:00:00.000Z',
      'minute 2026-01-03T01:01:00.000Z',
      'raw 2026-01-03T01:02:00.000Z..2026-01-03T01:02:00.500Z',
    ]);
  });

  it('counts a range shorter than a minute raw, in one stretch', () => {
    expect(show(planRange(range('2026-01-01T00:00:10Z', '2026-01-01T00:00:50Z')))).toEqual([
      'raw 2026-01-01T00:00:10.000Z..2026-01-01T00:00:50.000Z',
    ]);
    expect(show(planRange(range('2026-01-01T00:00:50Z', '2026-01-01T00:01:10Z')))).toEqual([
      'raw 2026-01-01T00:00:50.000Z..2026-01-01T00:01:10.000Z',
    ]);
  });

  it('covers the range exactly once, without gaps, for any millisecond bounds', () => {
    let seed = 7;
    const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    for (let i = 0; i < 500; i++) {
      const start = t('2025-12-30T00:00:00Z') + Math.floor(random() * 5 * 86_400_000);
      const end = start + Math.floor(random() ** 3 * 4 * 86_400_000) + 1;
      let at = start;
      for (const segment of planRange({ start: new Date(start), end: new Date(end) })) {
        expect(segment.start).toBe(at);
        at = segment.kind === 'raw' ? segment.end : segment.start + segment.level.ms;
        if (segment.kind === 'bucket') expect(floorTo(segment.start, segment.level.ms)).toBe(segment.start);
      }
      expect(at).toBe(end);
    }
  });

  it('is empty for an empty range', () => {
    expect(planRange(range('2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z'))).toEqual([]);
  });

  it('uses minutes only when given minutes only', () => {
    const minutes = ROLLUP_LEVELS.slice(0, 1);
    expect(planRange(range('2026-01-01T00:00:00Z', '2026-01-01T03:00:00Z'), minutes)).toHaveLength(180);
  });
});

describe('coalesceRaw', () => {
  it('merges stretches that touch or overlap, in time order', () => {
    expect(
      coalesceRaw([
        { start: 50, end: 60 },
        { start: 0, end: 10 },
        { start: 10, end: 20 },
        { start: 15, end: 30 },
      ]),
    ).toEqual([
      { start: 0, end: 30 },
      { start: 50, end: 60 },
    ]);
  });

  it('also merges stretches at most maxGap apart', () => {
    const stretches = [
      { start: 0, end: 10 },
      { start: 30, end: 40 },
      { start: 100, end: 110 },
    ];
    expect(coalesceRaw(stretches, 20)).toEqual([
      { start: 0, end: 40 },
      { start: 100, end: 110 },
    ]);
  });
});

describe('planByBoundaries', () => {
  it('moves each boundary to its nearest day, with the hours between counted in or out', () => {
    // Berlin's local days around 2026-03-29 (23 hours): 23:00Z, 23:00Z, 22:00Z, and a range end at 12:00Z.
    const starts = ['2026-03-27T23:00:00Z', '2026-03-28T23:00:00Z', '2026-03-29T22:00:00Z'].map(t);
    const { wholes, stretches } = planByBoundaries(starts, t('2026-03-30T12:00:00Z'), 86_400_000);
    const iso = (r: { start: Date; end: Date }) => [r.start.toISOString(), r.end.toISOString()];
    expect(wholes.map(iso)).toEqual([
      ['2026-03-28T00:00:00.000Z', '2026-03-29T00:00:00.000Z'],
      ['2026-03-29T00:00:00.000Z', '2026-03-30T00:00:00.000Z'],
      ['2026-03-30T00:00:00.000Z', '2026-03-30T00:00:00.000Z'],
    ]);
    expect(stretches.map(({ range, sign }) => [...iso(range), sign])).toEqual([
      ['2026-03-27T23:00:00.000Z', '2026-03-28T00:00:00.000Z', 1],
      ['2026-03-28T23:00:00.000Z', '2026-03-29T00:00:00.000Z', 1],
      ['2026-03-29T22:00:00.000Z', '2026-03-30T00:00:00.000Z', 1],
      ['2026-03-30T00:00:00.000Z', '2026-03-30T12:00:00.000Z', -1],
    ]);
  });
});

describe('coverageAfterRebuild', () => {
  const DAY = 86_400_000;
  it('moves coverage back to the start of a rebuild that reaches it', () => {
    expect(coverageAfterRebuild(10 * DAY, { start: 3 * DAY, end: 10 * DAY })).toBe(3 * DAY);
    expect(coverageAfterRebuild(10 * DAY, { start: 3 * DAY, end: 12 * DAY })).toBe(3 * DAY);
  });

  it('leaves it where it was after a rebuild that stops short of it, or starts after it', () => {
    expect(coverageAfterRebuild(10 * DAY, { start: 3 * DAY, end: 9 * DAY })).toBe(10 * DAY);
    expect(coverageAfterRebuild(10 * DAY, { start: 11 * DAY, end: 12 * DAY })).toBe(10 * DAY);
  });
});

describe('expiryProblem', () => {
  const reach = t('2026-03-01T02:00:00Z');
  const rawOf = (start: string, end: string) => planRange(range(start, end)).flatMap((s) => (s.kind === 'raw' ? [s] : []));

  it('answers a range whose edges below the mark lie on whole minutes from the buckets alone', () => {
    expect(expiryProblem({ raw: rawOf('2026-03-01T00:07:00Z', '2026-03-05T00:00:00.250Z') }, reach, MINUTE)).toBeUndefined();
    expect(expiryProblem({ raw: rawOf('2026-03-01T02:00:00.001Z', '2026-03-02T00:00:00Z') }, reach, MINUTE)).toBeUndefined();
  });

  it('refuses an edge below the mark within a minute, naming the whole minute that works', () => {
    const problem = expiryProblem({ raw: rawOf('2026-03-01T00:07:00.500Z', '2026-03-05T00:00:00Z') }, reach, MINUTE);
    expect(problem).toMatchObject({ code: 'raw_expired' });
    expect(problem?.message).toBe(
      'Raw readings before 2026-03-01T02:00:00.000Z have expired (RAW_RETENTION), and 2026-03-01T00:07:00.500Z needs them: ' +
        'before 2026-03-01T02:00:00.000Z, give times on whole minutes (UTC), e.g. 2026-03-01T00:07:00.000Z',
    );
    const end = expiryProblem({ raw: rawOf('2026-02-01T00:00:00Z', '2026-03-01T01:59:59.999Z') }, reach, MINUTE);
    expect(end?.message).toMatch(/and 2026-03-01T01:59:59.999Z needs them: .* e\.g\. 2026-03-01T01:59:00.000Z$/);
  });

  it('names whole hours for device counts', () => {
    expect(expiryProblem({ raw: [{ start: t('2026-03-01T00:07:00Z'), end: t('2026-03-01T01:00:00Z') }] }, reach, HOUR)?.message).toMatch(
      /give times on whole hours \(UTC\), e\.g\. 2026-03-01T00:00:00.000Z$/,
    );
  });

  it('asks to come back for a dirty bucket below the mark (a late reading being folded), not above it', () => {
    const minute = (iso: string) => ({ start: t(iso), end: t(iso) + 60_000 });
    expect(expiryProblem({ raw: [], dirty: [minute('2026-03-01T01:59:00Z')] }, reach, MINUTE)).toMatchObject({ code: 'catching_up' });
    expect(expiryProblem({ raw: [], dirty: [minute('2026-03-01T02:00:00Z')] }, reach, MINUTE)).toBeUndefined();
  });
});
