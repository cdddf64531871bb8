"""What the events add up to: latency statistics per function, callers, call trees."""
