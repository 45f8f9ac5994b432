"""EventBridge Scheduler expressions: AWS's syntax rules, their messages, and fire times in time zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from constructs_lib._schedules import (
    At,
    Cron,
    Rate,
    fire_times,
    next_fire_time,
    parse_schedule,
    schedule_errors,
    time_zone_error,
)

NOON = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("rate(1 minute)", Rate(1, "minute")),
        ("rate(1 minutes)", Rate(1, "minute")),
        ("rate(5 minutes)", Rate(5, "minute")),
        ("rate(2 hour)", Rate(2, "hour")),
        ("rate(7 days)", Rate(7, "day")),
        ("at(2026-12-31T23:59:00)", At(datetime(2026, 12, 31, 23, 59))),
    ],
)
def test_rate_and_at_expressions_parse(expression: str, expected: object) -> None:
    assert parse_schedule(expression) == expected


def test_a_rate_counts_whole_units() -> None:
    assert Rate(3, "hour").interval == timedelta(hours=3)
    assert Rate(2, "day").interval == timedelta(hours=48)


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 10 * * ? *)",
        "cron(15 12 * * ? *)",
        "cron(0 18 ? * MON-FRI *)",
        "cron(0 8 1 * ? *)",
        "cron(0/15 * * * ? *)",
        "cron(0/10 * ? * MON-FRI *)",
        "cron(0/5 8-17 ? * MON-FRI *)",
        "cron(0 9 ? * 2#1 *)",
        "cron(0 0 L * ? *)",
        "cron(0 0 LW * ? *)",
        "cron(0 0 15W * ? *)",
        "cron(0 0 ? * 6L *)",
        "cron(0 0 ? * FRIL *)",
        "cron(0 0 ? * L *)",
        "cron(0 22-2 * * ? *)",
        "cron(0 0 ? NOV-FEB SAT,SUN 2026-2030)",
        "cron(0 0 1 jan ? *)",
        "cron(*/20 * * * ? 2199)",
        "cron(0 0 ? * 1/2 *)",
    ],
)
def test_valid_cron_expressions_parse(expression: str) -> None:
    assert isinstance(parse_schedule(expression), Cron)
    assert schedule_errors(expression, "UTC") == []


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        (
            "every 5 minutes",
            "schedule expression 'every 5 minutes' is not rate(value unit), "
            "cron(minutes hours day-of-month month day-of-week year) or at(yyyy-mm-ddThh:mm:ss)",
        ),
        (
            "rate(0 minutes)",
            "schedule expression 'rate(0 minutes)': the rate value '0' is not a positive whole number",
        ),
        (
            "rate(1.5 hours)",
            "schedule expression 'rate(1.5 hours)': the rate value '1.5' is not a positive whole number",
        ),
        (
            "rate(30 seconds)",
            "schedule expression 'rate(30 seconds)': the rate unit 'seconds' "
            "is not minute(s), hour(s) or day(s)",
        ),
        ("rate(5)", "schedule expression 'rate(5)': a rate is rate(value unit), e.g. rate(5 minutes)"),
        (
            "cron(0 10 * * *)",
            "schedule expression 'cron(0 10 * * *)': a cron has six fields "
            "(minutes hours day-of-month month day-of-week year), not 5",
        ),
        (
            "cron(0 10 * * * *)",
            "schedule expression 'cron(0 10 * * * *)': exactly one of "
            "day-of-month (*) and day-of-week (*) must be '?'",
        ),
        (
            "cron(0 10 ? * ? *)",
            "schedule expression 'cron(0 10 ? * ? *)': exactly one of "
            "day-of-month (?) and day-of-week (?) must be '?'",
        ),
        (
            "cron(60 10 * * ? *)",
            "schedule expression 'cron(60 10 * * ? *)': minutes '60': 60 is outside 0-59",
        ),
        ("cron(0 24 * * ? *)", "schedule expression 'cron(0 24 * * ? *)': hours '24': 24 is outside 0-23"),
        ("cron(0 0 0 * ? *)", "schedule expression 'cron(0 0 0 * ? *)': day-of-month '0': 0 is outside 1-31"),
        (
            "cron(0 0 1 JANUARY ? *)",
            "schedule expression 'cron(0 0 1 JANUARY ? *)': month 'JANUARY': "
            "'JANUARY' is not a number 1-12 or JAN-DEC",
        ),
        (
            "cron(0 0 ? * 8 *)",
            "schedule expression 'cron(0 0 ? * 8 *)': day-of-week '8': 8 is outside 1-7",
        ),
        (
            "cron(0 0 1 * ? 1969)",
            "schedule expression 'cron(0 0 1 * ? 1969)': year '1969': 1969 is outside 1970-2199",
        ),
        (
            "cron(0 0 1 * ? 2030-2026)",
            "schedule expression 'cron(0 0 1 * ? 2030-2026)': year '2030-2026': "
            "range '2030-2026' runs backwards",
        ),
        (
            "cron(0/0 * * * ? *)",
            "schedule expression 'cron(0/0 * * * ? *)': minutes '0/0': step '0' is not a whole number 1-60",
        ),
        (
            "cron(0,,5 * * * ? *)",
            "schedule expression 'cron(0,,5 * * * ? *)': minutes '0,,5': a list item is empty",
        ),
        (
            "cron(0 0 1,L * ? *)",
            "schedule expression 'cron(0 0 1,L * ? *)': day-of-month '1,L' uses L or W other than as "
            "'L' (last day), 'LW' (last weekday) or a single day with W such as '15W'",
        ),
        (
            "cron(0 0 32W * ? *)",
            "schedule expression 'cron(0 0 32W * ? *)': day-of-month '32W': 32 is not 1-31",
        ),
        (
            "cron(0 0 ? * 3#1,6#3 *)",
            "schedule expression 'cron(0 0 ? * 3#1,6#3 *)': day-of-week '3#1,6#3' "
            "uses # or L other than as one "
            "expression such as '2#1' (first Monday) or '6L' (last Friday)",
        ),
        (
            "cron(0 0 ? * 2#6 *)",
            "schedule expression 'cron(0 0 ? * 2#6 *)': day-of-week '2#6': the number after # must be 1-5",
        ),
        (
            "cron(0 0 ? * 9L *)",
            "schedule expression 'cron(0 0 ? * 9L *)': day-of-week '9L': 9 is outside 1-7",
        ),
        (
            "at(2026-02-30T00:00:00)",
            "schedule expression 'at(2026-02-30T00:00:00)': day is out of range for month",
        ),
        (
            "at(2026-02-01 00:00:00)",
            "schedule expression 'at(2026-02-01 00:00:00)': a one-time schedule is at(yyyy-mm-ddThh:mm:ss)",
        ),
    ],
)
def test_invalid_expressions_say_what_is_wrong(expression: str, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_schedule(expression)
    assert str(raised.value) == message
    assert schedule_errors(expression) == [message]


def test_time_zones_are_iana_names() -> None:
    assert time_zone_error("Europe/Paris") is None
    assert time_zone_error("UTC") is None
    message = "time zone 'Europe/Atlantis' is not an IANA time zone name such as 'Europe/Paris' or 'UTC'"
    assert time_zone_error("Europe/Atlantis") == message
    assert time_zone_error("../etc/passwd") is not None
    assert schedule_errors("rate(0 days)", "Mars/Olympus") == [
        "schedule expression 'rate(0 days)': the rate value '0' is not a positive whole number",
        "time zone 'Mars/Olympus' is not an IANA time zone name such as 'Europe/Paris' or 'UTC'",
    ]


def test_a_rate_fires_from_its_start_at_fixed_intervals() -> None:
    start = NOON
    assert next_fire_time("rate(5 minutes)", start - timedelta(seconds=1), start=start) == start
    assert fire_times("rate(5 minutes)", start, start=start, count=3) == [
        utc(2026, 3, 4, 12, 5),
        utc(2026, 3, 4, 12, 10),
        utc(2026, 3, 4, 12, 15),
    ]
    assert next_fire_time("rate(1 hour)", utc(2026, 3, 4, 14, 30), start=start) == utc(2026, 3, 4, 15, 0)
    # A start in the future: nothing fires before it.
    assert next_fire_time("rate(1 day)", NOON, start=utc(2026, 3, 10, 6, 0)) == utc(2026, 3, 10, 6, 0)


def test_a_rate_in_days_ignores_daylight_saving() -> None:
    start = datetime(2026, 3, 7, 17, 0, tzinfo=UTC)  # noon in New York, the day before DST starts
    assert next_fire_time("rate(1 day)", start, "America/New_York", start=start) == start + timedelta(
        hours=24
    )


def test_a_rate_needs_a_start() -> None:
    with pytest.raises(ValueError, match="a rate schedule needs a start"):
        next_fire_time("rate(1 minute)", NOON)


def test_cron_fires_in_its_time_zone() -> None:
    assert next_fire_time("cron(0 10 * * ? *)", NOON) == utc(2026, 3, 5, 10, 0)
    assert next_fire_time("cron(0 10 * * ? *)", NOON, "Europe/Paris") == utc(2026, 3, 5, 9, 0)
    assert next_fire_time("cron(0 10 * * ? *)", NOON, "Asia/Tokyo") == utc(2026, 3, 5, 1, 0)


def test_cron_steps_ranges_and_weekdays() -> None:
    assert fire_times("cron(0/20 * * * ? *)", NOON, count=3) == [
        utc(2026, 3, 4, 12, 20),
        utc(2026, 3, 4, 12, 40),
        utc(2026, 3, 4, 13, 0),
    ]
    # Friday 6 March, then Monday 9 March: weekends skipped.
    assert fire_times("cron(0 18 ? * MON-FRI *)", utc(2026, 3, 6, 12, 0), count=2) == [
        utc(2026, 3, 6, 18, 0),
        utc(2026, 3, 9, 18, 0),
    ]
    assert fire_times("cron(0 23-1 * * ? *)", NOON, count=3) == [
        utc(2026, 3, 4, 23, 0),
        utc(2026, 3, 5, 0, 0),
        utc(2026, 3, 5, 1, 0),
    ]


def test_cron_special_days() -> None:
    assert next_fire_time("cron(0 0 L * ? *)", NOON) == utc(2026, 3, 31, 0, 0)
    assert next_fire_time("cron(0 0 L * ? *)", utc(2028, 2, 2)) == utc(2028, 2, 29, 0, 0)  # leap year
    assert next_fire_time("cron(0 0 LW * ? *)", utc(2026, 5, 1)) == utc(
        2026, 5, 29, 0, 0
    )  # 31 May is a Sunday
    assert next_fire_time("cron(0 0 15W * ? *)", NOON) == utc(2026, 3, 16, 0, 0)  # 15 March is a Sunday
    assert next_fire_time("cron(0 0 1W * ? *)", utc(2026, 7, 15)) == utc(
        2026, 8, 3, 0, 0
    )  # 1 Aug: a Saturday
    assert next_fire_time("cron(0 9 ? * 2#1 *)", NOON) == utc(2026, 4, 6, 9, 0)  # first Monday of April
    assert next_fire_time("cron(0 9 ? * 6L *)", NOON) == utc(2026, 3, 27, 9, 0)  # last Friday of March
    # L alone is the last day of every week (Saturday), not the month's last Saturday ("nL")
    assert next_fire_time("cron(0 9 ? * L *)", NOON) == utc(2026, 3, 7, 9, 0)
    assert fire_times("cron(0 9 ? * L *)", NOON, count=3)[1:] == [
        utc(2026, 3, 14, 9, 0),
        utc(2026, 3, 21, 9, 0),
    ]
    assert next_fire_time("cron(0 0 31 * ? *)", utc(2026, 4, 1)) == utc(2026, 5, 31, 0, 0)  # April has 30


def test_cron_that_never_comes_again_has_no_fire_time() -> None:
    assert next_fire_time("cron(0 0 1 1 ? 2020)", NOON) is None
    assert next_fire_time("cron(0 0 30 2 ? *)", NOON) is None


def test_daylight_saving_skips_missing_times_and_fires_once_in_repeated_ones() -> None:
    # 8 March 2026, New York: 02:00 jumps to 03:00, so 02:30 does not exist that day.
    assert fire_times("cron(30 2 * * ? *)", utc(2026, 3, 7, 12), "America/New_York", count=2) == [
        utc(2026, 3, 9, 6, 30),
        utc(2026, 3, 10, 6, 30),
    ]
    # 1 November 2026: 01:30 happens twice; it fires at the first one (EDT, UTC-4) only.
    assert fire_times("cron(30 1 * * ? *)", utc(2026, 10, 31, 12), "America/New_York", count=2) == [
        utc(2026, 11, 1, 5, 30),
        utc(2026, 11, 2, 6, 30),
    ]
    assert next_fire_time("at(2026-03-08T02:30:00)", NOON, "America/New_York") is None


def test_a_one_time_schedule_fires_once_in_its_zone() -> None:
    assert next_fire_time("at(2026-03-05T09:00:00)", NOON, "Europe/Paris") == utc(2026, 3, 5, 8, 0)
    assert next_fire_time("at(2026-03-05T09:00:00)", utc(2026, 3, 5, 8, 0), "Europe/Paris") is None
    assert fire_times("at(2026-03-05T09:00:00)", NOON, count=5) == [utc(2026, 3, 5, 9, 0)]


def test_start_and_end_dates_bound_the_schedule() -> None:
    assert next_fire_time("cron(0 10 * * ? *)", NOON, start=utc(2026, 3, 10)) == utc(2026, 3, 10, 10, 0)
    assert next_fire_time("cron(0 10 * * ? *)", NOON, end=utc(2026, 3, 5, 9, 0)) is None
    assert next_fire_time("cron(0 10 * * ? *)", NOON, end=utc(2026, 3, 5, 10, 0)) == utc(2026, 3, 5, 10, 0)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="after must be an aware datetime"):
        next_fire_time("cron(0 10 * * ? *)", datetime(2026, 3, 4))
