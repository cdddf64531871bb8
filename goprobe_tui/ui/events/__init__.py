"""The Events view: the live trace pane, its filter, an event's details, and the area that switches views."""
