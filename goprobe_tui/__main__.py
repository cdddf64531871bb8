from goprobe_tui.cli import defer_signals

# Imports take ~0.2 s, and some catch an interrupt and turn it into an ImportError: hold
# INT/TERM/HUP until a command has installed its own handlers (then they are delivered).
defer_signals()

from goprobe_tui.cli import main  # noqa: E402

raise SystemExit(main())
