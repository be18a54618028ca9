/**
 * Which points of a watched series a batch of announced changes touches: pure arithmetic, shared by
 * every connection that watches the same series, so that each changed point is read once per tick.
 */
import type { ChangedMinute } from '@tally/messaging';
import type { TimeRange } from '@tally/store';

const MINUTE_MS = 60_000;

/** A series some connections watch: its range (now), its step, and whose readings it counts. */
export interface Watch {
  range: TimeRange;
  stepMs: number;
  /** These devices together; `undefined`: the whole fleet. */
  devices?: readonly string[] | undefined;
}

/** The key of whose readings a watch counts: equal for equal device sets, whatever their order. */
export function devicesKey(devices: readonly string[] | undefined): string {
  return devices === undefined ? '*' : [...devices].sort().join(',');
}

/** True when a change of `minute` may change the counts of `devices` (of the whole fleet when absent). */
function concerns(minute: ChangedMinute, devices: ReadonlySet<string> | undefined): boolean {
  if (devices === undefined || minute.devices === undefined) return true;
  return minute.devices.some((device) => devices.has(device));
}

/** The starts of the steps of `watch` that `minutes` may have changed. */
export function changedSteps(watch: Watch, minutes: readonly ChangedMinute[]): number[] {
  const start = watch.range.start.getTime();
  const end = watch.range.end.getTime();
  const devices = watch.devices && new Set(watch.devices);
  const steps = new Set<number>();
  for (const minute of minutes) {
    if (minute.start + MINUTE_MS <= start || minute.start >= end || !concerns(minute, devices)) continue;
    steps.add(Math.floor(minute.start / watch.stepMs) * watch.stepMs);
  }
  return [...steps];
}

/**
 * The stretches of `watch` to read again: consecutive changed steps merged, each clipped to the
 * range (so that their points are the series' own, the first and last clipped alike). More than
 * `maxSpans` stretches: the whole range, in one read.
 */
export function changedSpans(watch: Watch, minutes: readonly ChangedMinute[], maxSpans = 8): TimeRange[] {
  return spansOf(changedSteps(watch, minutes), watch, maxSpans);
}

/** The starts of the steps of `span` (a stretch of whole steps). */
export function stepsOf(span: TimeRange, stepMs: number): number[] {
  const steps: number[] = [];
  for (let at = Math.floor(span.start.getTime() / stepMs) * stepMs; at < span.end.getTime(); at += stepMs) steps.push(at);
  return steps;
}

/** The steps of `now` that `before` did not hold (a window that moved on), as stretches; all of it when they do not overlap. */
export function newSpans(before: TimeRange, now: TimeRange): TimeRange[] {
  if (before.end.getTime() === now.end.getTime() && before.start.getTime() === now.start.getTime()) return [];
  if (now.start >= before.end || now.end <= before.start) return [now];
  const spans: TimeRange[] = [];
  if (now.start < before.start) spans.push({ start: now.start, end: before.start });
  if (now.end > before.end) spans.push({ start: before.end, end: now.end });
  return spans;
}

/** `steps` (their starts) as stretches of `watch`: consecutive ones merged, clipped to its range; past `maxSpans`, the whole range. */
export function spansOf(steps: readonly number[], { range, stepMs }: Watch, maxSpans = 8): TimeRange[] {
  const sorted = [...steps].sort((a, b) => a - b);
  const spans: { start: number; end: number }[] = [];
  for (const step of sorted) {
    const last = spans.at(-1);
    if (last && last.end === step) last.end = step + stepMs;
    else spans.push({ start: step, end: step + stepMs });
  }
  if (spans.length > maxSpans) return [range];
  const [start, end] = [range.start.getTime(), range.end.getTime()];
  return spans.map((span) => ({ start: new Date(Math.max(start, span.start)), end: new Date(Math.min(end, span.end)) }));
}
