import { describe, expect, it } from 'vitest';
import { longestIngestPause } from './ingest-pause';

const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms);

describe('longestIngestPause', () => {
  it('finds the longest gap between arrivals after the fault, in any order', () => {
    const arrivals = [at(0), at(10), at(2500), at(20), at(2510), at(30)];
    expect(longestIngestPause(arrivals, at(5))).toEqual({ ms: 2470, from: at(30), to: at(2500) });
  });

  it('counts the wait from the fault to the first arrival', () => {
    expect(longestIngestPause([at(0), at(4000), at(4010)], at(1000))).toEqual({ ms: 3000, from: at(1000), to: at(4000) });
  });

  it('is undefined when nothing arrived after the fault', () => {
    expect(longestIngestPause([at(0)], at(1))).toBeUndefined();
  });
});
