"""What the events add up to: latency statistics per function, callers, call trees.

May import: events, values, gobinary and the base modules.
"""
