"""How much a probe reads behind pointers: a record stays small and its fetch args few."""

STRING_BYTES = 32  # bytes of a string; tracefs arrays max out at 64
IFACE_WORDS = 4  # words behind an interface's data pointer
POINTEE_FIELDS, POINTEE_BYTES = 8, 64  # fields of a struct behind a pointer, and how far in
# With --depth 2 and more (asked for: a person follows a request to its URL's path): every
# field up to this far, within the fetch-arg budget (kinds.MAX_FETCH_ARGS)
DEEP_FIELDS, DEEP_BYTES = 32, 1024
SLICE_BYTES = 32  # bytes of a slice's backing array
