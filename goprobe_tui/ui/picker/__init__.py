"""The process picker, shown when no binary or pid is given."""
