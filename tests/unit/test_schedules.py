from datetime import UTC, datetime

from chalice.app import Cron, Rate, ScheduledEventConfig

from local.schedules import schedules_of

NOW = datetime(2021, 3, 3, 3, 30, 20, tzinfo=UTC)


def schedule(expression):
    [found] = schedules_of([ScheduledEventConfig("s", "app.s", expression, "")], NOW)
    return found


def test_a_rate_fires_on_its_grid():
    every_minute = schedule(Rate(1, unit=Rate.MINUTES))
    assert every_minute.next_fire == datetime(2021, 3, 3, 3, 31, tzinfo=UTC)
    assert every_minute.fire_after(datetime(2021, 3, 3, 3, 31, tzinfo=UTC)) == \
        datetime(2021, 3, 3, 3, 32, tzinfo=UTC)
    assert schedule("rate(2 hours)").next_fire == datetime(2021, 3, 3, 4, 0, tzinfo=UTC)


def test_eventbridge_cron_is_evaluated_in_utc_with_sunday_as_one():
    daily = schedule(Cron(30, 18, "*", "*", "?", "*"))
    assert daily.next_fire == datetime(2021, 3, 3, 18, 30, tzinfo=UTC)
    sundays = schedule(Cron(0, 6, "?", "*", 1, "*"))  # 2021-03-07 was a Sunday
    assert sundays.next_fire == datetime(2021, 3, 7, 6, 0, tzinfo=UTC)
