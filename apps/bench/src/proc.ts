import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat: USER_HZ, 100 on every Linux architecture Node runs on. */
const TICKS_PER_SECOND = 100;

/** CPU time (user + system) in seconds from the text of /proc/<pid>/stat. */
export function parseCpuSeconds(stat: string): number {
  // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`Unexpected /proc stat line: ${stat}`);
  return (utime + stime) / TICKS_PER_SECOND;
}

/** Peak resident set size (VmHWM) in MiB from the text of /proc/<pid>/status. */
export function parsePeakRssMb(status: string): number {
  const kib = /^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1];
  if (kib === undefined) throw new Error('No VmHWM line in /proc status');
  return Number(kib) / 1024;
}

export function readCpuSeconds(pid: number): number {
  return parseCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

export function readPeakRssMb(pid: number): number {
  return parsePeakRssMb(readFileSync(`/proc/${pid}/status`, 'utf8'));
}
