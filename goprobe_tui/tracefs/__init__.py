"""The kernel interface: tracefs (find it, write commands safely), names, probe sessions
(instances, multi-probe events, filters), record layouts, ring-buffer pages and their reader,
and the sweep of what dead sessions left.

May import: values, gobinary and the base modules.
"""
