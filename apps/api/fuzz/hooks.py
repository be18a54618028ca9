"""Schemathesis hooks for Tally's API: the two rules its OpenAPI description cannot state.

JSON Schema has no way to say "start_time is before end_time", so a fuzzer that generates two
schema-valid times produces an inverted range half of the time, which the API rightly answers 400.
Nor can it say that a series holds at most MAX_SERIES_POINTS steps (the operation's description
does), so nearly every generated series would be a 400 too_many_points. These hooks drop such
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


# apps/api/src/schemas.ts MAX_SERIES_POINTS, and libs/store's SERIES_STEPS in nanoseconds.
MAX_SERIES_POINTS = 1500
STEP_NS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "6h": 21600, "1d": 86400}


def few_enough_points(data) -> bool:
    """False for a series whose UTC-aligned steps over the range outnumber MAX_SERIES_POINTS."""
    if not isinstance(data, dict) or data.get("step") not in STEP_NS:
        return True
    start, end = data.get("start_time"), data.get("end_time")
    start_ns = nanoseconds(start) if isinstance(start, str) else None
    end_ns = nanoseconds(end) if isinstance(end, str) else None
    if start_ns is None or end_ns is None:
        return True
    step = STEP_NS[data["step"]] * 10**9
    first = (start_ns // 10**6 + (start_ns % 10**6 > 0)) * 10**6  # the API counts from the next whole millisecond
    return (end_ns - (first - first % step) + step - 1) // step <= MAX_SERIES_POINTS


@schemathesis.hook
def filter_query(ctx, query):
    return in_order(query) and few_enough_points(query)


@schemathesis.hook
def filter_body(ctx, body):
    return in_order(body)
