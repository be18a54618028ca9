import type { StoreError } from './errors';
import type { Stretch } from './raw-counts';
import { ceilTo, DAY, expiryProblem, floorTo, HOUR } from './rollup-plan';

/**
 * How a device count over `[start, end)` is answered: the hours of `slots` from the devices' hour
 * slots, everything in `raw` from the raw readings. Pure: the caller reads where device coverage
 * starts and which hours are unusable (dirty, or over a dirty minute).
 */
export interface DevicePlan {
  raw: Stretch[];
  /** The whole hours answered from slots, and the days whose slots are taken only in part. */
  slots?: SlotSelection;
}

export interface SlotSelection {
  /** The days from `firstDay` (inclusive) to `endDay` (exclusive) hold the hours answered from slots. */
  firstDay: number;
  endDay: number;
  /**
   * Days counted from their hour slots, these hours only (`0`..`23`; all 24 for a day whose total
   * is not settled); every other day in range counts whole, from its day total.
   */
  partial: Map<number, number[]>;
}

/**
 * The whole hours of `range` from where device coverage starts: the interior answered by slots.
 * What lies outside it (the ends of the range within an hour, what precedes coverage) is raw.
 */
export function deviceInterior({ start, end }: Stretch, coverageFrom: number): { interior?: Stretch; raw: Stretch[] } {
  const from = Math.max(start, ceilTo(Math.max(start, coverageFrom), HOUR.ms));
  const to = floorTo(end, HOUR.ms);
  if (from >= to) return { raw: start < end ? [{ start, end }] : [] };
  const raw = [
    { start, end: from },
    { start: to, end },
  ].filter((stretch) => stretch.start < stretch.end);
  return { interior: { start: from, end: to }, raw };
}

/**
 * The plan of `range`: `unusable` are the starts of hours in the interior whose slots cannot be
 * used (counted raw instead); `unsettled` the starts of days whose day totals cannot be used (their
 * usable hours are taken from the slots).
 */
export function planDeviceRange(range: Stretch, coverageFrom: number, unusable: readonly number[], unsettled: readonly number[] = []): DevicePlan {
  const { interior, raw } = deviceInterior(range, coverageFrom);
  if (!interior) return { raw };
  const skipped = [...new Set(unusable)].filter((hour) => hour >= interior.start && hour < interior.end).sort((a, b) => a - b);
  const firstDay = floorTo(interior.start, DAY.ms);
  const endDay = ceilTo(interior.end, DAY.ms);
  const partialDays = new Set([
    firstDay,
    endDay - DAY.ms,
    ...skipped.map((hour) => floorTo(hour, DAY.ms)),
    ...unsettled.filter((day) => day >= firstDay && day < endDay),
  ]);
  const partial = new Map<number, number[]>();
  for (const day of partialDays) {
    const hours: number[] = [];
    for (let hour = Math.max(day, interior.start); hour < Math.min(day + DAY.ms, interior.end); hour += HOUR.ms) {
      if (!skipped.includes(hour)) hours.push((hour - day) / HOUR.ms);
    }
    if (hours.length < 24 || unsettled.includes(day)) partial.set(day, hours);
  }
  return {
    raw: [...raw, ...skipped.map((hour) => ({ start: hour, end: hour + HOUR.ms }))],
    slots: { firstDay, endDay, partial },
  };
}

/**
 * What keeps a device count over `range` from being answered once raw readings before `reach`
 * expired (see `expiryProblem`): its edges within an hour, what precedes device coverage and the
 * hours `straddled` by a point need raw readings (`raw_expired`: give whole hours); an `unusable`
 * hour there is one a late reading is being folded into (`catching_up`).
 */
export function deviceExpiryProblem(
  range: Stretch,
  coverageFrom: number,
  straddled: readonly number[],
  unusable: readonly number[],
  reach: number,
): StoreError | undefined {
  const hours = (starts: readonly number[]) => starts.map((start) => ({ start, end: start + HOUR.ms }));
  const straddledInRange = straddled.filter((hour) => hour + HOUR.ms > range.start && hour < range.end);
  return expiryProblem({ raw: [...deviceInterior(range, coverageFrom).raw, ...hours(straddledInRange)], dirty: hours(unusable) }, reach, HOUR);
}
