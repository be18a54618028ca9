"""Schemathesis hooks for Tally's API: the two rules its OpenAPI description cannot state.

JSON Schema has no way to say "start_time is before end_time", so a fuzzer that generates two
schema-valid times produces an inverted range half of the time, which the API rightly answers 400.
Nor can it say that a series holds at most MAX_SERIES_POINTS steps (the operation's description
does), so nearly every generated series would be a 400 too_many_points (dropped here by a bound
that holds in every time zone). These hooks drop such
cases (and only those) before they are sent. The times are compared exactly, below the
millisecond too, as the API does; what does not match the API's pattern is left alone.
"""

import re

import schemathesis

# The API's TIME_PATTERN, loosened: only needed to split a time into its parts.
TIME = re.compile(
    r"([+-][0-9]{6}|[0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,]([0-9]{1,9}))?)?)?"
    r"([Zz]|[+-][0-9]{2}:?[0-9]{2})?"
)


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's algorithm)."""
    year -= month <= 2
    era = (year if year >= 0 else year - 399) // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def nanoseconds(value: str):
    """Nanoseconds since the epoch of an API time, or None when it is not one."""
    match = TIME.fullmatch(value)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    seconds = days_from_civil(int(year), int(month), int(day)) * 86400
    seconds += int(hour or 0) * 3600 + int(minute or 0) * 60 + int(second or 0)
    if offset and offset not in "Zz":
        digits = offset[1:].replace(":", "")
        shift = int(digits[:2]) * 3600 + int(digits[2:]) * 60
        seconds -= shift if offset[0] == "+" else -shift
    return seconds * 10**9 + int((fraction or "").ljust(9, "0"))


def in_order(data) -> bool:
    if not isinstance(data, dict):
        return True
    start, end = data.get("start_time"), data.get("end_time")
    if not isinstance(start, str) or not isinstance(end, str):
        return True
    start_ns, end_ns = nanoseconds(start), nanoseconds(end)
    return start_ns is None or end_ns is None or start_ns < end_ns


# apps/api/src/schemas.ts MAX_SERIES_POINTS, and libs/store's SERIES_STEPS (series-calendar.ts):
# the shortest each step can be in seconds. In a time zone a local day, week or month is shorter by
# a change of the clocks (at most 2 h), and a fixed step is cut once more at each change.
MAX_SERIES_POINTS = 1500
HOUR = 3600
SHORTEST_STEP = {
    "1m": 60,
    "5m": 300,
    "15m": 900,
    "1h": HOUR,
    "6h": 6 * HOUR - 2 * HOUR,
    "1d": 24 * HOUR - 2 * HOUR,
    "1w": 7 * 24 * HOUR - 2 * HOUR,
    "1mo": 28 * 24 * HOUR - 2 * HOUR,
}
# Changes of the clocks a zone may make in a year, at most (a bound, not a count).
CHANGES_PER_YEAR = 4


def few_enough_points(data) -> bool:
    """False for a series whose steps over the range may outnumber MAX_SERIES_POINTS, in any zone."""
    if not isinstance(data, dict) or data.get("step") not in SHORTEST_STEP:
        return True
    start, end = data.get("start_time"), data.get("end_time")
    start_ns = nanoseconds(start) if isinstance(start, str) else None
    end_ns = nanoseconds(end) if isinstance(end, str) else None
    if start_ns is None or end_ns is None:
        return True
    seconds = max(0, end_ns - start_ns) / 10**9
    changes = (seconds / (365 * 24 * HOUR) + 1) * CHANGES_PER_YEAR
    return seconds / SHORTEST_STEP[data["step"]] + 2 + changes <= MAX_SERIES_POINTS


@schemathesis.hook
def filter_query(ctx, query):
    return in_order(query) and few_enough_points(query)


@schemathesis.hook
def filter_body(ctx, body):
    return in_order(body)
