"""Errors from the kernel side, each with a message a user can act on."""

from goprobe_tui.errors import GoprobeError


class TracefsError(GoprobeError):
    """tracefs is missing, not writable, locked down, or lacks uprobe support."""


class ProbeError(GoprobeError):
    """The kernel refused a probe command; `reason` is its error_log text when it gave one."""

    def __init__(self, message: str, reason: str = "", errno: int = 0) -> None:
        super().__init__(f"{message}: {reason}" if reason else message)
        self.reason = reason
        self.errno = errno
