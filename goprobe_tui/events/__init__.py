"""The event model every layer shares: TraceEvent and its row form, the one status type, one
set of formatters for values and durations, and the registry of output formats.

May import: values, gobinary and the base modules.
"""
