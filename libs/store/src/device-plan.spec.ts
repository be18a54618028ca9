import { describe, expect, it } from 'vitest';
import { deviceExpiryProblem, planDeviceRange } from './device-plan';

const HOUR = 3_600_000;
const DAY = 86_400_000;
const t = (iso: string) => Date.parse(iso);

/** Every hour the plan answers from slots, as hour starts. */
function slotHours(plan: ReturnType<typeof planDeviceRange>): number[] {
  if (!plan.slots) return [];
  const hours: number[] = [];
  for (let day = plan.slots.firstDay; day < plan.slots.endDay; day += DAY) {
    const only = plan.slots.partial.get(day);
    for (let hour = 0; hour < 24; hour++) if (!only || only.includes(hour)) hours.push(day + hour * HOUR);
  }
  return hours;
}

describe('planDeviceRange', () => {
  it('answers whole hours from slots and the ends within an hour raw', () => {
    const plan = planDeviceRange({ start: t('2026-01-01T22:30:00Z'), end: t('2026-01-03T01:15:00Z') }, -Infinity, []);
    expect(plan.raw).toEqual([
      { start: t('2026-01-01T22:30:00Z'), end: t('2026-01-01T23:00:00Z') },
      { start: t('2026-01-03T01:00:00Z'), end: t('2026-01-03T01:15:00Z') },
    ]);
    expect(plan.slots).toEqual({
      firstDay: t('2026-01-01T00:00:00Z'),
      endDay: t('2026-01-04T00:00:00Z'),
      partial: new Map([
        [t('2026-01-01T00:00:00Z'), [23]],
        [t('2026-01-03T00:00:00Z'), [0]],
      ]),
    });
  });

  it('counts unusable hours and what precedes device coverage raw', () => {
    const plan = planDeviceRange(
      { start: t('2026-01-01T00:00:00Z'), end: t('2026-01-03T00:00:00Z') },
      t('2026-01-01T10:20:00Z'),
      [t('2026-01-02T05:00:00Z'), t('2026-01-02T05:00:00Z'), t('2026-01-09T05:00:00Z')],
    );
    expect(plan.raw).toEqual([
      { start: t('2026-01-01T00:00:00Z'), end: t('2026-01-01T11:00:00Z') },
      { start: t('2026-01-02T05:00:00Z'), end: t('2026-01-02T06:00:00Z') },
    ]);
    expect(plan.slots?.partial.get(t('2026-01-02T00:00:00Z'))).toHaveLength(23);
  });

  it('takes days whose totals are not settled from their hour slots, all 24', () => {
    const plan = planDeviceRange({ start: t('2026-01-01T00:00:00Z'), end: t('2026-01-04T00:00:00Z') }, -Infinity, [], [t('2026-01-02T00:00:00Z')]);
    expect(plan.raw).toEqual([]);
    expect(plan.slots?.partial).toEqual(new Map([[t('2026-01-02T00:00:00Z'), Array.from({ length: 24 }, (_, hour) => hour)]]));
  });

  it('is all raw within one hour, or before coverage', () => {
    expect(planDeviceRange({ start: t('2026-01-01T10:05:00Z'), end: t('2026-01-01T10:55:00Z') }, -Infinity, [])).toEqual({
      raw: [{ start: t('2026-01-01T10:05:00Z'), end: t('2026-01-01T10:55:00Z') }],
    });
    expect(planDeviceRange({ start: 0, end: DAY }, 2 * DAY, [])).toEqual({ raw: [{ start: 0, end: DAY }] });
    expect(planDeviceRange({ start: 5, end: 5 }, -Infinity, [])).toEqual({ raw: [] });
  });

  it('covers any range exactly once, without gaps, for any bounds, coverage and unusable hours', () => {
    let state = 7;
    const random = (below: number) => Math.floor(((state = (state * 48271) % 2147483647) / 2147483647) * below);
    for (let i = 0; i < 500; i++) {
      const start = t('2026-01-01T00:00:00Z') + random(5 * DAY);
      const lengths = [random(HOUR), random(DAY), random(9 * DAY)];
      const end = start + (lengths[random(3)] as number);
      const coverage = start + random(2 * DAY) - DAY;
      const unusable = Array.from({ length: random(6) }, () => Math.floor((start + random(10 * DAY) - DAY) / HOUR) * HOUR);
      const plan = planDeviceRange({ start, end }, coverage, unusable);
      const pieces = [...plan.raw, ...slotHours(plan).map((hour) => ({ start: hour, end: hour + HOUR }))].sort((a, b) => a.start - b.start);
      let at = start;
      for (const piece of pieces) {
        expect(piece.start, `case ${i}`).toBe(at);
        at = piece.end;
      }
      expect(at, `case ${i}`).toBe(start < end ? end : start);
      for (const hour of slotHours(plan)) {
        expect(hour >= coverage && !unusable.includes(hour), `case ${i}: hour ${new Date(hour).toISOString()} from slots`).toBe(true);
      }
    }
  });
});

describe('deviceExpiryProblem', () => {
  const reach = t('2026-03-01T02:00:00Z');
  const range = (start: string, end: string) => ({ start: t(start), end: t(end) });

  it('answers whole hours below the mark from the slots, an edge within an hour there is refused', () => {
    expect(deviceExpiryProblem(range('2026-03-01T00:00:00Z', '2026-03-01T05:30:00Z'), 0, [], [], reach)).toBeUndefined();
    expect(deviceExpiryProblem(range('2026-03-01T00:30:00Z', '2026-03-01T05:00:00Z'), 0, [], [], reach)).toMatchObject({ code: 'raw_expired' });
  });

  it('refuses what precedes device coverage and hours a point straddles below the mark; a dirty hour there is catching up', () => {
    const whole = range('2026-03-01T00:00:00Z', '2026-03-02T00:00:00Z');
    expect(deviceExpiryProblem(whole, t('2026-03-01T01:00:00Z'), [], [], reach)).toMatchObject({ code: 'raw_expired' });
    expect(deviceExpiryProblem(whole, 0, [t('2026-03-01T01:00:00Z')], [], reach)).toMatchObject({ code: 'raw_expired' });
    expect(deviceExpiryProblem(whole, 0, [t('2026-03-01T02:00:00Z')], [], reach)).toBeUndefined();
    expect(deviceExpiryProblem(whole, 0, [], [t('2026-03-01T01:00:00Z')], reach)).toMatchObject({ code: 'catching_up' });
    expect(deviceExpiryProblem(whole, 0, [], [t('2026-03-01T02:00:00Z')], reach)).toBeUndefined();
  });
});
