"""Schemathesis hooks for Tally's API: the one rule its OpenAPI description cannot state.

JSON Schema has no way to say "start_time is before end_time", so a fuzzer that generates two
schema-valid times produces an inverted range half of the time, which the API rightly answers 400.
These hooks drop such cases (and only those) before they are sent. The times are compared exactly,
below the millisecond too, as the API does; what does not match the API's pattern is left alone.
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


@schemathesis.hook
def filter_query(ctx, query):
    return in_order(query)


@schemathesis.hook
def filter_body(ctx, body):
    return in_order(body)
