/*
 * The times the API accepts, as one regular expression that is also the OpenAPI `pattern` of the
 * time fields: what it matches is exactly what `parseInstant` reads. Built from parts so that it stays
 * checkable; ASCII digits only ([0-9], never \d), no lookarounds, so that every JSON Schema tool
 * (and Python's `re`, which fuzzers use) reads it alike.
 */
const LEAP_CD = '(?:0[48]|[2468][048]|[13579][26])';
/** The last four digits of a leap year (2000 and 2024, not 1900 or 2023). */
const LEAP_4 = `(?:[0-9]{2}${LEAP_CD}|(?:[02468][048]|[13579][26])00)`;
/** ...of a leap year at most 5759 (for years up to +275759). */
const LEAP_4_TO_5759 = `(?:(?:[0-4][0-9]|5[0-6])${LEAP_CD}|(?:[024][048]|[13][26]|5[26])00|57(?:0[48]|[135][26]|[24][048]))`;
/** ...of a leap year at most 1820 (for years down to -271820). */
const LEAP_4_TO_1820 = `(?:(?:0[0-9]|1[0-7])${LEAP_CD}|(?:0[048]|1[26])00|18(?:0[48]|1[26]|20))`;
/**
 * Years: 0000-9999, or expanded (ISO 8601) with a sign and six digits, from -271820 to +275759:
 * the years every instant of which a JavaScript date holds (its range ends inside -271821 and
 * +275760).
 */
const YEAR = '(?:[0-9]{4}|[+-](?:[01][0-9]|2[0-6])[0-9]{4}|\\+27(?:[0-4][0-9]{3}|5[0-6][0-9]{2}|57[0-5][0-9])|-27(?:0[0-9]{3}|1[0-7][0-9]{2}|18[01][0-9]|1820))';
const LEAP_YEAR = `(?:${LEAP_4}|[+-](?:[01][0-9]|2[0-6])${LEAP_4}|\\+27${LEAP_4_TO_5759}|-27${LEAP_4_TO_1820})`;
const MONTH_DAY = '(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))';
const DATE = `(${YEAR}-${MONTH_DAY}|${LEAP_YEAR}-02-29)`;
const TIME = '(?:[T ]([01][0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9])(?:[.,]([0-9]{1,9}))?)?)?';
const OFFSET = '([Zz]|[+-](?:[01][0-9]|2[0-3]):?[0-5][0-9])?';

/** The pattern of an accepted time (JSON Schema / ECMAScript syntax). */
export const TIME_PATTERN = `^${DATE}${TIME}${OFFSET}$`;
const TIME_REGEX = new RegExp(TIME_PATTERN);

/** An instant to the nanosecond: whole milliseconds since the epoch, and nanoseconds past them. */
export interface Instant {
  ms: number;
  /** 0 to 999,999 */
  nanos: number;
}

/**
 * Reads an ISO-8601 time: a date (years 0000-9999, or -271820 to +275759 written with a sign and
 * six digits), optionally a time (minutes, seconds and up to nine fraction digits optional) and an
 * offset (`Z`, `+05:30`, `-0800`); no offset means UTC. Returns `undefined` for anything else,
 * including dates and times that do not exist (`2023-02-29`, `25:00`).
 */
export function parseInstant(value: string): Instant | undefined {
  const match = TIME_REGEX.exec(value);
  if (!match) return undefined;
  const [, date = '', hour = '0', minute = '0', second = '0', fraction = '', offset = 'Z'] = match;
  const [, year = '', month = '', day = ''] = /^([+-]?[0-9]+)-([0-9]{2})-([0-9]{2})$/.exec(date) ?? [];
  const utc = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not read years 0-99 as 1900-1999.
  utc.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  const digits = fraction.padEnd(9, '0');
  utc.setUTCHours(Number(hour), Number(minute), Number(second), Number(digits.slice(0, 3)));
  const ms = utc.getTime() - offsetMinutes(offset) * 60_000;
  if (!Number.isFinite(ms)) return undefined;
  return { ms, nanos: Number(digits.slice(3)) };
}

function offsetMinutes(offset: string): number {
  if (offset === 'Z' || offset === 'z') return 0;
  const digits = offset.slice(1).replace(':', '');
  return (offset.startsWith('-') ? -1 : 1) * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2)));
}

/** Negative when `a` is before `b`, 0 when they are the same instant, positive after. */
export function compareInstants(a: Instant, b: Instant): number {
  return a.ms - b.ms || a.nanos - b.nanos;
}

/**
 * The first whole millisecond at or after `instant`. Readings are stored to the millisecond, so
 * `[start, end)` holds exactly the readings of `[ceil(start), ceil(end))`: a range within one
 * millisecond holds no reading, unless it starts on that millisecond exactly.
 */
export function toDate({ ms, nanos }: Instant): Date {
  return new Date(nanos > 0 ? ms + 1 : ms);
}
