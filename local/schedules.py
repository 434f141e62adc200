"""EventBridge schedules of the app (rate and cron), evaluated on the simulated clock."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from chalice.app import Cron, Rate, ScheduledEventConfig

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


@dataclass
class Schedule:
    config: ScheduledEventConfig
    expression: str
    next_fire: datetime

    @property
    def name(self) -> str:
        return self.config.name

    def fire_after(self, moment: datetime) -> datetime:
        """The first firing strictly after `moment` (UTC, as EventBridge evaluates)."""
        rate = _RATE.match(self.expression)
        if rate:
            period = int(rate.group(1)) * _UNIT_SECONDS[rate.group(2).rstrip("s")]
            seconds = int(moment.timestamp()) // period * period + period
            return datetime.fromtimestamp(seconds, UTC)
        from croniter import croniter

        return croniter(_cron_fields(self.expression), moment).get_next(datetime)


def schedules_of(configs: list[ScheduledEventConfig], now: datetime) -> list[Schedule]:
    schedules = []
    for config in configs:
        expression = config.schedule_expression
        text = expression.to_string() if isinstance(expression, (Rate, Cron)) else str(expression)
        schedule = Schedule(config, text, now)
        schedule.next_fire = schedule.fire_after(now - timedelta(seconds=1))
        schedules.append(schedule)
    return schedules


def _cron_fields(expression: str) -> str:
    """AWS cron(min hour day-of-month month day-of-week year) → classic five-field cron."""
    fields = expression.removeprefix("cron(").removesuffix(")").split()
    if len(fields) != 6:
        raise ValueError(f"not an EventBridge cron expression: {expression}")
    minute, hour, dom, month, dow, _year = (f.replace("?", "*") for f in fields)
    if dow not in ("*",) and re.fullmatch(r"[1-7](-[1-7])?(,[1-7])*", dow):
        dow = re.sub(r"[1-7]", lambda m: str(int(m.group()) - 1), dow)  # AWS counts Sunday as 1
    return f"{minute} {hour} {dom} {month} {dow}"
