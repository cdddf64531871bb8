"""An event's binary record layout, from its tracefs `format` file.

Every uprobe event record starts with the common fields (type, flags, preempt count, pid) and
`__probe_ip`; our fetch args follow as fixed-size integers or byte arrays, and `$comm` as a
`__data_loc` string (a u32: its length << 16 | its offset in the record). One struct unpacks
a whole record.
"""

from __future__ import annotations

import re
import struct

from goprobe_tui.errors import BadInput

# An array field reads `u8 name[32]` or, on newer kernels, `u8 name[]`: either way an array.
_FIELD_RE = re.compile(r"field:(.+?)\s+(\w+)(\[\d*\])?;\s*offset:(\d+);\s*size:(\d+);\s*signed:(\d)")
_INT_CODES = {
    (1, False): "B",
    (1, True): "b",
    (2, False): "H",
    (2, True): "h",
    (4, False): "I",
    (4, True): "i",
    (8, False): "Q",
    (8, True): "q",
}


class RecordLayout:
    """How to unpack one event's records: (type, pid, ip, *fields)."""

    def __init__(self, type_id: int, names: tuple[str, ...], fmt: str) -> None:
        self.type_id = type_id
        self.names = names  # the fields after __probe_ip, in record order
        self.fmt = fmt
        self.struct = struct.Struct(fmt)

    def __reduce__(self):  # a Struct does not pickle; its format does
        return (RecordLayout, (self.type_id, self.names, self.fmt))

    @property
    def size(self) -> int:
        return self.struct.size


def parse_format(text: str) -> RecordLayout:
    """Raises ValueError for a layout we cannot unpack (that event is then refused)."""
    m = re.search(r"^ID:\s*(\d+)", text, re.M)
    if not m:
        raise BadInput("format has no ID")
    fields = [
        (name, bool(array), int(off), int(size), sign == "1" and not ctype.startswith("__data_loc"))
        for ctype, name, array, off, size, sign in _FIELD_RE.findall(text)
    ]
    by_name = {f[0]: f for f in fields}
    for need, off in (("common_type", 0), ("common_pid", 4), ("__probe_ip", 8)):
        if need not in by_name or by_name[need][2] != off:
            raise BadInput(f"unexpected record layout ({need})")
    codes = ["<H2xi", "Q" if by_name["__probe_ip"][3] == 8 else "I4x"]
    pos = 16 if by_name["__probe_ip"][3] == 8 else 12
    names = []
    for name, array, off, size, signed in sorted(fields, key=lambda f: f[2]):
        if name.startswith("common_") or name == "__probe_ip":
            continue
        if off < pos:
            raise BadInput(f"overlapping field {name}")
        if off > pos:
            codes.append(f"{off - pos}x")
        if array:
            codes.append(f"{size}s")  # u8[N]: the bytes
        elif (size, signed) in _INT_CODES:
            codes.append(_INT_CODES[(size, signed)])
        else:
            raise BadInput(f"field {name} of size {size}")
        names.append(name)
        pos = off + size
    return RecordLayout(int(m.group(1)), tuple(names), "".join(codes))
