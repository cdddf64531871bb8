"""What happened to the events, at one instant: the one status type, from the decoder process
through the engine to the front ends. Every event is shown, lost (counted), or waiting."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True)
class TraceStatus:
    decoded: int = 0  # events decoded and passed on (printed, when the decoder prints them)
    received: int = 0  # events that reached the engine (rows a front end can drain)
    lost: int = 0  # the kernel could not keep them, or they waited beyond a memory bound
    malformed: int = 0  # records or pages that do not follow their layout (lost with them)
    unattributed: int = 0  # records of an unknown event or address (never shown)
    unpaired_returns: int = 0  # returns shown without a latency (their entry was not seen)
    filtered: int = 0  # records of calls not matching --where, dropped by the decoder (not lost)
    waiting: int = 0  # decoded, not yet drained by the front end
    probes: int = 0  # kernel probes in place
    error: str | None = None  # events stopped arriving, and why
    notices: tuple[str, ...] = ()  # what the user must know (a decoder restarted)
    binary_change: Any = None  # engine.binary_watch.Change, once the traced file changed
    following: int | None = None  # the goroutine events are restricted to (kernel filter)
    stacks: bool = False  # events carry their call stack
    detaching: tuple[int, int] | None = None  # (kernel events disabled, of) during teardown
    # The decoder's own bookkeeping, should it die: what it has acknowledged, what it holds.
    messages: int = 0  # page messages consumed
    held: int = 0  # records taken in, not yet passed on (held back for ordering)
    otlp_sent: int = 0  # spans an OTLP collector accepted (--otlp)
    otlp_dropped: int = 0  # spans dropped: queue full, or the collector refused or was down
    # --slower-than: what was not shown, by request (not lost): calls as fast or faster, and
    # events that have no latency to judge (entries are shown with their return, if slow)
    faster_calls: int = 0
    no_latency: int = 0

    def after(self, dead: TraceStatus) -> TraceStatus:
        """This decoder's figures on top of those of the decoders that died before it (the
        kernel's loss count is absolute already)."""
        return TraceStatus(
            decoded=dead.decoded + self.decoded,
            lost=self.lost,
            malformed=dead.malformed + self.malformed,
            unattributed=dead.unattributed + self.unattributed,
            unpaired_returns=dead.unpaired_returns + self.unpaired_returns,
            filtered=dead.filtered + self.filtered,
            messages=self.messages,
            held=self.held,
            otlp_sent=dead.otlp_sent + self.otlp_sent,
            otlp_dropped=dead.otlp_dropped + self.otlp_dropped,
            faster_calls=dead.faster_calls + self.faster_calls,
            no_latency=dead.no_latency + self.no_latency,
        )
