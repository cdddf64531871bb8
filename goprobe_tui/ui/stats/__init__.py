"""The Stats view."""
