import { describe, expect, it } from 'vitest';
import { edgeBucket, type ReadingProbe } from './raw-edges';
import { floorTo } from './rollup-plan';

const DAY = 86_400_000;
const t = (iso: string) => Date.parse(iso);

/** A probe over readings held in memory, counting how often it is asked. */
function probeOver(times: readonly number[]): ReadingProbe & { calls: number } {
  const probe = Object.assign(
    async ({ start, end }: { start: number; end: number }) => {
      probe.calls++;
      return times.some((time) => time >= start && time < end);
    },
    { calls: 0 },
  );
  return probe;
}

/** The answer by looking at every reading. */
function expected(times: readonly number[], start: number, end: number, edge: 'first' | 'last', unit: number) {
  const within = times.filter((time) => time >= start && time < end);
  if (within.length === 0) return undefined;
  return floorTo(edge === 'first' ? Math.min(...within) : Math.max(...within), unit);
}

describe('edgeBucket', () => {
  it('names the day of the newest and of the oldest reading within the range', async () => {
    const times = [t('2026-01-03T05:00:00Z'), t('2026-02-10T23:59:59.999Z'), t('2026-03-01T00:00:00Z')];
    const range = { start: t('2026-01-01T00:00:00Z'), end: t('2026-03-01T00:00:00Z') };
    expect(await edgeBucket(probeOver(times), range, 'last', DAY)).toBe(t('2026-02-10T00:00:00Z'));
    expect(await edgeBucket(probeOver(times), range, 'first', DAY)).toBe(t('2026-01-03T00:00:00Z'));
  });

  it('answers undefined for a range without readings, and looks only within the range', async () => {
    const times = [t('2026-01-01T00:00:00Z') - 1, t('2026-01-09T12:00:00Z')];
    // The range ends mid-day before the second reading and starts just after the first.
    const range = { start: t('2026-01-01T00:00:00Z'), end: t('2026-01-09T11:00:00Z') };
    expect(await edgeBucket(probeOver(times), range, 'last', DAY)).toBeUndefined();
    expect(await edgeBucket(probeOver(times), range, 'first', DAY)).toBeUndefined();
    expect(await edgeBucket(probeOver(times), { start: 5, end: 5 }, 'first', DAY)).toBeUndefined();
  });

  it('takes one probe when the bucket at the edge holds a reading, and a few for one far in', async () => {
    const year = { start: t('2025-01-01T00:00:00Z'), end: t('2026-01-01T00:00:00Z') };
    const full = probeOver([t('2025-12-31T08:00:00Z')]);
    expect(await edgeBucket(full, year, 'last', DAY)).toBe(t('2025-12-31T00:00:00Z'));
    expect(full.calls).toBe(1);
    const far = probeOver([t('2025-01-02T08:00:00Z')]);
    expect(await edgeBucket(far, year, 'last', DAY)).toBe(t('2025-01-02T00:00:00Z'));
    // 2·log2(365) ≈ 17: a day at a time would take 364.
    expect(far.calls).toBeLessThanOrEqual(20);
  });

  it('agrees with a look at every reading over random readings, ranges and units', async () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const origin = t('2026-01-01T00:00:00Z');
    for (let round = 0; round < 300; round++) {
      const unit = [60_000, 3_600_000, DAY][round % 3] as number;
      const span = 400 * unit;
      const times = Array.from({ length: Math.floor(random() * 6) }, () => origin + Math.floor(random() * span));
      const start = origin + Math.floor(random() * span) - unit;
      const end = start + Math.floor(random() * span);
      for (const edge of ['first', 'last'] as const) {
        const answer = await edgeBucket(probeOver(times), { start, end }, edge, unit);
        expect(answer, `${edge} of ${times.join(',')} in [${start}, ${end}) by ${unit}`).toBe(expected(times, start, end, edge, unit));
      }
    }
  });
});
