import { describe, expect, it } from 'vitest';
import { parseCpuSeconds, parsePeakRssMb, readCpuSeconds, readPeakRssMb } from './proc';

describe('parseCpuSeconds', () => {
  it('adds utime and stime, counting fields after a command name with spaces and parentheses', () => {
    const stat = '4242 (node (a b)) S 1 4242 4242 0 -1 4194304 100 0 0 0 250 75 0 0 20 0 11 0 100 0 0';
    expect(parseCpuSeconds(stat)).toBe(3.25);
  });

  it('refuses a line it cannot read', () => {
    expect(() => parseCpuSeconds('4242 (node) S')).toThrow('Unexpected /proc stat line');
  });
});

describe('parsePeakRssMb', () => {
  it('reads VmHWM', () => {
    expect(parsePeakRssMb('Name:\tnode\nVmPeak:\t 999 kB\nVmHWM:\t  102400 kB\nVmRSS:\t 1 kB\n')).toBe(100);
  });
});

describe.runIf(process.platform === 'linux')('on this process', () => {
  it('reads its CPU time and peak RSS, as Node reports them', () => {
    const before = process.cpuUsage();
    const cpuSeconds = readCpuSeconds(process.pid);
    const after = process.cpuUsage();
    // /proc counts in clock ticks (10 ms): the figure lies between the two readings, give or take one tick each.
    expect(cpuSeconds).toBeGreaterThanOrEqual((before.user + before.system) / 1e6 - 0.02);
    expect(cpuSeconds).toBeLessThanOrEqual((after.user + after.system) / 1e6 + 0.02);
    // The peak is at least the RSS now, and at most getrusage's ru_maxrss (which Linux carries over
    // from the parent across fork and exec, so it may be higher).
    const rssNowMb = process.memoryUsage().rss / 2 ** 20;
    const peakMb = readPeakRssMb(process.pid);
    expect(peakMb).toBeGreaterThanOrEqual(rssNowMb - 1);
    expect(peakMb).toBeLessThanOrEqual(process.resourceUsage().maxRSS / 1024 + 1);
  });
});
