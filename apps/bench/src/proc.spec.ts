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
  it('reads its CPU time and peak RSS', () => {
    expect(readCpuSeconds(process.pid)).toBeGreaterThan(0);
    expect(readPeakRssMb(process.pid)).toBeGreaterThan(10);
  });
});
