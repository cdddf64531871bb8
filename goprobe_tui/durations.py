"""Go duration literals (time.ParseDuration): `50ms`, `1m30s`, `1.5h`, `-2us`, `300µs`.
The one way a person types a time, in conditions and on the command line."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from goprobe_tui.errors import BadInput

UNITS_NS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_PART = r"(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h)"
LITERAL = rf"[-+]?(?:{_PART})+"  # for tokenizers: a number followed by a unit, repeated
_ONE = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
MAX_NS = (1 << 63) - 1  # what a time.Duration holds


def parse_go_duration(text: str) -> int:
    """Nanoseconds; BadInput naming the mistake. A bare 0 is 0, as in Go."""
    body = text.strip()
    sign = -1 if body.startswith("-") else 1
    body = body[1:] if body[:1] in ("+", "-") else body
    if body == "0":
        return 0
    if not body or not re.fullmatch(rf"(?:{_PART})+", body):
        raise BadInput(f"not a Go duration: {text!r} (e.g. 50ms, 1m30s, 2h, 300us)")
    total = Decimal(0)
    try:
        for number, unit in _ONE.findall(body):
            total += Decimal(number) * UNITS_NS[unit]
    except InvalidOperation:
        raise BadInput(f"not a Go duration: {text!r}") from None
    if total > MAX_NS:
        raise BadInput(f"{text!r} is longer than a time.Duration holds (about 292 years)")
    return sign * int(total)
