"""Go values, pure: the value kinds (what each fetches at a probe, how its record decodes),
conditions on them, fetch-arg text, and reading the binary's own memory (string literals,
type metadata). No kernel I/O.

May import: gobinary and the base modules.
"""
