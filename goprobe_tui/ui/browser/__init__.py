"""The function browser: the list, its search, a function's details, the probe panel."""
