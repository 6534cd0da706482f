"""When a crontab schedule next fires, worked out on the calendar of its own time zone.

Celery's `remaining_estimate` answers "how long after the last run", which depends on when beat
last ran and is truncated to the minute in ways that put a desk a minute off; staff need the wall
clock time the job will start. This walks the crontab's sets day by day in the schedule's zone."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


def next_fire_time(schedule, after: datetime, tz: str | ZoneInfo) -> datetime | None:
    """The first moment strictly after `after` at which `schedule` (a celery crontab: sets of
    minutes, hours, days of the week (0 = Sunday), days of the month, months) fires, as an aware
    datetime in `tz`; None if it never fires within 5 years."""
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(str(tz))
    start = after.astimezone(zone)
    minutes, hours = sorted(schedule.minute), sorted(schedule.hour)
    day = start.date()
    for _ in range(366 * 5):
        if (
            day.month in schedule.month_of_year
            and day.day in schedule.day_of_month
            and day.isoweekday() % 7 in schedule.day_of_week
        ):
            for hour in hours:
                for minute in minutes:
                    candidate = datetime.combine(day, time(hour, minute), tzinfo=zone)
                    if candidate > start:
                        return candidate
        day += timedelta(days=1)
    return None
