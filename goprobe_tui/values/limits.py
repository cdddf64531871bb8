"""How much a probe reads behind pointers: a record stays small and its fetch args few."""

STRING_BYTES = 32  # bytes of a string; tracefs arrays max out at 64
IFACE_WORDS = 4  # words behind an interface's data pointer
POINTEE_FIELDS, POINTEE_BYTES = 8, 64  # fields of a struct behind a pointer, and how far in
SLICE_BYTES = 32  # bytes of a slice's backing array
