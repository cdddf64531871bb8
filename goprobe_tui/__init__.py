"""goprobe-tui: trace Go functions with kernel uprobes, from a terminal UI or headless."""

__version__ = "0.1.0"
