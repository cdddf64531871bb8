from goprobe_tui.signals import hold_signals

# Imports take ~0.2 s, and some catch an interrupt and turn it into an ImportError: hold
# INT/TERM/HUP until a command has installed its own handlers (then they are delivered).
hold_signals()

from goprobe_tui.cli.main import main  # noqa: E402

raise SystemExit(main())
