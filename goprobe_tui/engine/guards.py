"""What keeps a probe from hurting the target: a cap on how many functions one action attaches,
and a watch on each probe's hit rate (every hit is a kernel trap the target pays for)."""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_FUNCTIONS = 2000  # per attach action, unless the user says otherwise explicitly
WARN_RATE = 50_000  # calls/s of one function: the target visibly slows from about here
Rate = tuple[str, float]  # (function, calls/s)


@dataclass
class RateGuard:
    """Fed cumulative hit counts per function; says which run hot (warned once each) and
    which exceed the limit (to be detached)."""

    limit: float | None = None  # calls/s; None: warn only
    warn_above: float = WARN_RATE
    _last: dict[str, int] = field(default_factory=dict)
    _when: float | None = None
    _warned: set[str] = field(default_factory=set)

    def check(self, hits: dict[str, int], now: float) -> tuple[list[Rate], list[Rate]]:
        """(newly hot functions, functions over the limit), each with its rate, hottest first."""
        hot: list[Rate] = []
        over: list[Rate] = []
        if self._when is not None and now > self._when:
            span = now - self._when
            for name, count in hits.items():
                rate = (count - self._last.get(name, count)) / span
                if self.limit is not None and rate > self.limit:
                    over.append((name, rate))
                elif rate > self.warn_above and name not in self._warned:
                    self._warned.add(name)
                    hot.append((name, rate))
        self._last, self._when = dict(hits), now
        return sorted(hot, key=lambda x: -x[1]), sorted(over, key=lambda x: -x[1])


def hot_warning(name: str, rate: float) -> str:
    return (
        f"{name} fires {rate:,.0f} calls/s: each call pays a kernel trap, so the target "
        "slows down; detach it, or set --max-rate to detach such probes automatically"
    )


def over_limit_note(name: str, rate: float, limit: float) -> str:
    return f"{name} fired {rate:,.0f} calls/s, above --max-rate {limit:,.0f}: detached"
