"""The headless front end: `list`, `trace`, `stats`, `cleanup`, and the command line that also
starts the TUI.

May import: engine, events, insight, gobinary and the base modules (errors, exit_codes,
textsafe, atomic_file); ui only to start it.
"""

from goprobe_tui.cli.main import main

__all__ = ["main"]
