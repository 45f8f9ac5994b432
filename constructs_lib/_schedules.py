"""EventBridge Scheduler expressions: parse, validate, and compute fire times. No CDK import.

Shared by the constructs (synth-time validation: a bad expression becomes one PropErrors line) and
the local runner (which fires schedules by the local clock). The rules are AWS's, from the
EventBridge Scheduler user guide ("Schedule types") and the cron reference:

- ``rate(value unit)``: a positive whole number and ``minute(s)``, ``hour(s)`` or ``day(s)``. The
  unit may be singular or plural whatever the value (Scheduler's API lists both); one minute is
  the shortest rate. Days are 24-hour durations, not calendar days, so DST never moves a rate.
- ``cron(minutes hours day-of-month month day-of-week year)``: six fields; ``, - * /`` everywhere,
  ``? L W`` in day-of-month, ``? L #`` in day-of-week (1-7 = SUN-SAT), JAN-DEC and SUN-SAT names,
  years 1970-2199; exactly one of day-of-month and day-of-week is ``?``. A ``#`` expression stands
  alone in its field. Ranges may wrap (``FRI-MON``, ``22-2``) as in Quartz, whose syntax AWS uses.
  Day-of-week also takes ``/`` steps, which some versions of the guide list and the service accepts.
- ``at(yyyy-mm-ddThh:mm:ss)``: one time, read in the schedule's time zone.

Time zones are IANA names (``zoneinfo``). Fire times follow Scheduler's daylight-saving rules: a
cron or at time that does not exist (spring forward) is skipped, one that happens twice (fall
back) fires once, at its first occurrence.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MIN_YEAR = 1970
MAX_YEAR = 2199
_RATE_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {name: number for number, name in enumerate(calendar.month_abbr) if name}  # "Jan": 1
_MONTH_NAMES = {name.upper(): number for name, number in _MONTHS.items()}
_DAY_NAMES = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
_FIELD_NAMES = ("minutes", "hours", "day-of-month", "month", "day-of-week", "year")
# (lowest, highest, names, whether a range may wrap past the highest value)
_FIELD_LIMITS: dict[str, tuple[int, int, dict[str, int], bool]] = {
    "minutes": (0, 59, {}, True),
    "hours": (0, 23, {}, True),
    "day-of-month": (1, 31, {}, True),
    "month": (1, 12, _MONTH_NAMES, True),
    "day-of-week": (1, 7, _DAY_NAMES, True),
    "year": (MIN_YEAR, MAX_YEAR, {}, False),
}
_EXPRESSION = re.compile(r"^(rate|cron|at)\((.*)\)$", re.DOTALL)
_AT = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$")
_DAY_OF_MONTH_SPECIAL = re.compile(r"^(L|LW|(\d{1,2})W)$")
_NTH_WEEKDAY = re.compile(r"^([A-Z0-9]+)#(\d+)$")
_LAST_WEEKDAY = re.compile(r"^([A-Z0-9]+)L$")


@dataclass(frozen=True)
class Rate:
    """``rate(value unit)``: every `seconds`, from the schedule's start."""

    value: int
    unit: str  # "minute", "hour" or "day"

    @property
    def interval(self) -> timedelta:
        return timedelta(seconds=self.value * _RATE_UNITS[self.unit])


@dataclass(frozen=True)
class Cron:
    """``cron(...)``: the sets of values each field allows, and day-of-month/-week specials."""

    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int]
    days_of_month: frozenset[int] | None  # None when day-of-month is "?" or special
    days_of_week: frozenset[int] | None  # 1 = Sunday; None when day-of-week is "?" or special
    special: str | None  # "L", "LW", "15W", "6L" or "2#3": the day rule that is not a plain set


@dataclass(frozen=True)
class At:
    """``at(...)``: one wall-clock time in the schedule's time zone."""

    when: datetime  # naive


Schedule = Rate | Cron | At


def parse_schedule(expression: str) -> Schedule:
    """The parsed expression; ValueError with a one-line message naming what is wrong."""
    match = _EXPRESSION.match(expression.strip()) if isinstance(expression, str) else None
    if match is None:
        raise ValueError(
            f"schedule expression {expression!r} is not rate(value unit), "
            "cron(minutes hours day-of-month month day-of-week year) or at(yyyy-mm-ddThh:mm:ss)"
        )
    kind, body = match.groups()
    if kind == "rate":
        return _parse_rate(expression, body)
    if kind == "at":
        return _parse_at(expression, body)
    return _parse_cron(expression, body)


def schedule_errors(expression: str, time_zone: str | None = None) -> list[str]:
    """Every problem with a schedule expression and its time zone, one line each ([] when valid)."""
    errors = []
    try:
        parse_schedule(expression)
    except ValueError as error:
        errors.append(str(error))
    if time_zone is not None:
        problem = time_zone_error(time_zone)
        if problem:
            errors.append(problem)
    return errors


def time_zone_error(name: str) -> str | None:
    """Why `name` is not an IANA time zone, or None when it is one."""
    try:
        zone(name)
    except ValueError as error:
        return str(error)
    return None


def zone(name: str) -> tzinfo:
    """The IANA time zone `name`; ValueError when there is none."""
    if not isinstance(name, str) or not name or name != name.strip() or ".." in name or name.startswith("/"):
        raise ValueError(f"time zone {name!r} is not an IANA time zone name such as 'Europe/Paris' or 'UTC'")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"time zone {name!r} is not an IANA time zone name such as 'Europe/Paris' or 'UTC'"
        ) from None


def next_fire_time(
    schedule: Schedule | str,
    after: datetime,
    time_zone: str = "UTC",
    *,
    start: datetime | None = None,
    end: datetime | None = None,
) -> datetime | None:
    """The first fire time strictly after `after` (aware, UTC), or None when the schedule is over.

    `after`, `start` and `end` are aware datetimes (Scheduler's StartDate/EndDate). A rate counts
    from `start`, which Scheduler takes to be the schedule's creation when no StartDate is given:
    the caller passes that time.
    """
    parsed = parse_schedule(schedule) if isinstance(schedule, str) else schedule
    after = _aware(after, "after")
    if start is not None:
        start = _aware(start, "start")
        # A schedule's first fire can be its start itself.
        after = max(after, start - timedelta(microseconds=1))
    fire: datetime | None
    if isinstance(parsed, Rate):
        if start is None:
            raise ValueError("a rate schedule needs a start: its StartDate or the time it was created")
        intervals = (after - start) // parsed.interval + 1 if after >= start else 0
        fire = start + intervals * parsed.interval
    elif isinstance(parsed, At):
        fire = _existing(parsed.when, zone(time_zone))
        fire = fire if fire is not None and fire > after else None
    else:
        fire = _next_cron(parsed, after, zone(time_zone))
    if fire is None or (end is not None and fire > _aware(end, "end")):
        return None
    return fire.astimezone(UTC)


def fire_times(
    schedule: Schedule | str,
    after: datetime,
    time_zone: str = "UTC",
    *,
    count: int,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[datetime]:
    """Up to `count` fire times after `after`, in order (see `next_fire_time`)."""
    times: list[datetime] = []
    while len(times) < count:
        fire = next_fire_time(schedule, after, time_zone, start=start, end=end)
        if fire is None:
            break
        times.append(fire)
        after = fire
    return times


# Parsing


def _parse_rate(expression: str, body: str) -> Rate:
    parts = body.split()
    if len(parts) != 2:
        raise ValueError(
            f"schedule expression {expression!r}: a rate is rate(value unit), e.g. rate(5 minutes)"
        )
    value, unit = parts
    if not value.isdigit() or int(value) < 1:
        raise ValueError(
            f"schedule expression {expression!r}: the rate value {value!r} is not a positive whole number"
        )
    singular = unit[:-1] if unit.endswith("s") else unit
    if singular not in _RATE_UNITS:
        raise ValueError(
            f"schedule expression {expression!r}: the rate unit {unit!r} is not minute(s), hour(s) or day(s)"
        )
    return Rate(int(value), singular)


def _parse_at(expression: str, body: str) -> At:
    match = _AT.match(body.strip())
    if match is None:
        raise ValueError(
            f"schedule expression {expression!r}: a one-time schedule is at(yyyy-mm-ddThh:mm:ss)"
        )
    try:
        year, month, day, hour, minute, second = (int(part) for part in match.groups())
        when = datetime(year, month, day, hour, minute, second)  # naive: read in the schedule's zone
    except ValueError as error:
        raise ValueError(f"schedule expression {expression!r}: {error}") from None
    return At(when)


def _parse_cron(expression: str, body: str) -> Cron:
    fields = body.split()
    if len(fields) != len(_FIELD_NAMES):
        raise ValueError(
            f"schedule expression {expression!r}: a cron has six fields "
            f"(minutes hours day-of-month month day-of-week year), not {len(fields)}"
        )
    minutes, hours, day_of_month, month, day_of_week, year = (field.upper() for field in fields)
    if (day_of_month == "?") == (day_of_week == "?"):
        raise ValueError(
            f"schedule expression {expression!r}: exactly one of day-of-month ({fields[2]}) and "
            f"day-of-week ({fields[4]}) must be '?'"
        )

    def values(name: str, text: str) -> frozenset[int]:
        try:
            return _field_values(name, text)
        except ValueError as error:
            raise ValueError(f"schedule expression {expression!r}: {name} {text!r}: {error}") from None

    if day_of_week == "L":
        day_of_week = "7"  # L alone is the last day of the week: every Saturday (Quartz: "7" or "SAT")
    special: str | None = None
    days_of_month: frozenset[int] | None = None
    days_of_week: frozenset[int] | None = None
    if day_of_month != "?":
        special = _day_of_month_special(expression, day_of_month)
        if special is None:
            days_of_month = values("day-of-month", day_of_month)
    else:
        special = _day_of_week_special(expression, day_of_week)
        if special is None:
            days_of_week = values("day-of-week", day_of_week)
    return Cron(
        minutes=values("minutes", minutes),
        hours=values("hours", hours),
        months=values("month", month),
        years=values("year", year),
        days_of_month=days_of_month,
        days_of_week=days_of_week,
        special=special,
    )


def _day_of_month_special(expression: str, text: str) -> str | None:
    if "L" not in text and "W" not in text:
        return None
    match = _DAY_OF_MONTH_SPECIAL.match(text)
    if match is None:
        raise ValueError(
            f"schedule expression {expression!r}: day-of-month {text!r} uses L or W other than as "
            "'L' (last day), 'LW' (last weekday) or a single day with W such as '15W'"
        )
    if match.group(2) is not None and not 1 <= int(match.group(2)) <= 31:
        raise ValueError(
            f"schedule expression {expression!r}: day-of-month {text!r}: {match.group(2)} is not 1-31"
        )
    return text


def _day_of_week_special(expression: str, text: str) -> str | None:
    nth = _NTH_WEEKDAY.match(text)
    last = _LAST_WEEKDAY.match(text)
    if nth is None and last is None:
        if "#" in text or "L" in text:
            raise ValueError(
                f"schedule expression {expression!r}: day-of-week {text!r} uses # or L other than as one "
                "expression such as '2#1' (first Monday) or '6L' (last Friday)"
            )
        return None
    day_text = nth.group(1) if nth is not None else last.group(1) if last is not None else ""
    try:
        day = _value(day_text, 1, 7, _DAY_NAMES)
    except ValueError as error:
        raise ValueError(f"schedule expression {expression!r}: day-of-week {text!r}: {error}") from None
    if nth is not None:
        occurrence = int(nth.group(2))
        if not 1 <= occurrence <= 5:
            raise ValueError(
                f"schedule expression {expression!r}: day-of-week {text!r}: the number after # must be 1-5"
            )
        return f"{day}#{occurrence}"
    return f"{day}L"


def _field_values(name: str, text: str) -> frozenset[int]:
    """The values a plain field allows (lists, ranges, steps, names); ValueError saying why not."""
    low, high, names, wraps = _FIELD_LIMITS[name]
    allowed: set[int] = set()
    for part in text.split(","):
        if not part:
            raise ValueError("a list item is empty")
        if part == "?":
            raise ValueError("'?' cannot be part of a list")
        base, _, step_text = part.partition("/")
        step = 1
        if "/" in part:
            if not step_text.isdigit() or not 1 <= int(step_text) <= high - low + 1:
                raise ValueError(f"step {step_text!r} is not a whole number 1-{high - low + 1}")
            step = int(step_text)
        if base == "*":
            first, last = low, high
        elif "-" in base:
            first_text, _, last_text = base.partition("-")
            first, last = _value(first_text, low, high, names), _value(last_text, low, high, names)
            if last < first and not wraps:
                raise ValueError(f"range {base!r} runs backwards")
        else:
            first = _value(base, low, high, names)
            last = high if "/" in part else first
        span = (last - first) % (high - low + 1) if last < first else last - first
        allowed.update(low + (first - low + offset) % (high - low + 1) for offset in range(0, span + 1, step))
    return frozenset(allowed)


def _value(text: str, low: int, high: int, names: dict[str, int]) -> int:
    if text in names:
        return names[text]
    if not text.isdigit():
        known = f" or {next(iter(names))}-{list(names)[-1]}" if names else ""
        raise ValueError(f"{text!r} is not a number {low}-{high}{known}")
    value = int(text)
    if not low <= value <= high:
        raise ValueError(f"{value} is outside {low}-{high}")
    return value


# Fire times


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{name} must be an aware datetime")
    return moment


def _existing(local: datetime, zone_info: tzinfo) -> datetime | None:
    """`local` (naive wall time) in `zone_info` at its first occurrence, or None if the clock skips it."""
    aware = local.replace(tzinfo=zone_info, fold=0)
    if aware.astimezone(UTC).astimezone(zone_info).replace(tzinfo=None) != local:
        return None
    return aware


def _next_cron(cron: Cron, after: datetime, zone_info: tzinfo) -> datetime | None:
    # Start a little before `after` in wall time: a fall-back hour maps later wall times earlier.
    begin = after.astimezone(zone_info).replace(tzinfo=None, second=0, microsecond=0) - timedelta(hours=3)
    for local in _cron_wall_times(cron, begin):
        fire = _existing(local, zone_info)
        if fire is not None and fire > after:
            return fire
    return None


def _cron_wall_times(cron: Cron, begin: datetime) -> Iterator[datetime]:
    """Every wall time the cron allows from `begin` (naive, minute precision), in order."""
    for year in sorted(y for y in cron.years if y >= begin.year):
        for month in sorted(cron.months):
            if (year, month) < (begin.year, begin.month):
                continue
            for day in _days(cron, year, month):
                if date(year, month, day) < begin.date():
                    continue
                for hour in sorted(cron.hours):
                    for minute in sorted(cron.minutes):
                        moment = datetime(year, month, day, hour, minute)
                        if moment >= begin:
                            yield moment


def _days(cron: Cron, year: int, month: int) -> list[int]:
    """The days of `month` the cron's day-of-month or day-of-week allows."""
    length = calendar.monthrange(year, month)[1]

    def weekday(day: int) -> int:  # 1 = Sunday, as cron counts
        return (date(year, month, day).weekday() + 1) % 7 + 1

    if cron.days_of_month is not None:
        return [day for day in sorted(cron.days_of_month) if day <= length]
    if cron.days_of_week is not None:
        return [day for day in range(1, length + 1) if weekday(day) in cron.days_of_week]
    special = cron.special or ""
    if special == "L":
        return [length]
    if special.endswith("W"):
        target = length if special == "LW" else int(special[:-1])
        return [] if target > length else [_nearest_weekday(year, month, target, length)]
    if "#" in special:
        day_of_week, occurrence = (int(part) for part in special.split("#"))
        matching = [day for day in range(1, length + 1) if weekday(day) == day_of_week]
        return matching[occurrence - 1 : occurrence]
    day_of_week = int(special[:-1])  # "nL": the month's last such day
    return [max(day for day in range(1, length + 1) if weekday(day) == day_of_week)]


def _nearest_weekday(year: int, month: int, day: int, length: int) -> int:
    """The weekday (Monday-Friday) nearest `day` without leaving the month, as cron's W means."""
    weekday = date(year, month, day).weekday()  # Monday = 0
    if weekday == 5:  # Saturday: Friday before, unless that is last month
        return day - 1 if day > 1 else day + 2
    if weekday == 6:  # Sunday: Monday after, unless that is next month
        return day + 1 if day < length else day - 2
    return day
