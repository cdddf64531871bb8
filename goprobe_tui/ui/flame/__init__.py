"""The Flame view."""
