"""Modal screens: confirm, prompt, help, a detail, the progress of long work."""
