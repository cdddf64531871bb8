"""A whole function disassembled in one capstone call, its instructions as numpy columns.

capstone's Python generator builds a tuple and decodes two strings per instruction: for the
thousands of functions an attach of inlined calls looks at (2 million instructions for
strings.*, errors.New and fmt.Errorf on hugo) that was most of the planning time. Here
cs_disasm's array is read in place through the binding's own struct layout; where the
binding does not expose it, its generator is used instead (the same answers, slower).
"""

from __future__ import annotations

import ctypes
import functools
from dataclasses import dataclass

import capstone
import numpy as np

from goprobe_tui.gobinary.retsweep import _disassembler


@dataclass(frozen=True)
class Instructions:
    """Columns, one row per instruction. The text columns hold C strings as capstone left
    them: what follows the first NUL is garbage, so they are read through the methods."""

    address: np.ndarray  # uint64, ascending
    size: np.ndarray  # uint16
    mnemonic_raw: np.ndarray  # S32
    operands_raw: np.ndarray  # S160

    def __len__(self) -> int:
        return len(self.address)

    def mnemonic(self, i: int) -> str:
        return bytes(self.mnemonic_raw[i]).split(b"\0", 1)[0].decode("ascii", "replace")

    def operands(self, i: int) -> str:
        return bytes(self.operands_raw[i]).split(b"\0", 1)[0].decode("ascii", "replace")

    def mnemonic_in(self, words: frozenset[str], prefix: str = "") -> np.ndarray:
        """Rows whose mnemonic is one of `words` (up to 7 letters) or starts with `prefix`,
        as a mask: the first 8 bytes, cut at the NUL, compared as one integer."""
        n = len(self)
        chars = self.mnemonic_raw.view(np.uint8).reshape(n, self.mnemonic_raw.dtype.itemsize)[:, :8]
        keys = (chars * np.cumprod(chars != 0, axis=1, dtype=np.uint8)).copy().view("<u8").ravel()
        found = np.isin(keys, _keys(words))
        if prefix:
            p = np.frombuffer(prefix.encode(), dtype=np.uint8)
            found |= (chars[:, : len(p)] == p).all(axis=1)
        return found


@functools.cache
def _keys(words: frozenset[str]) -> np.ndarray:
    """Each word NUL-padded to 8 bytes, as a little-endian integer (longer words never match)."""
    return np.array(
        [int.from_bytes(w.encode().ljust(8, b"\0"), "little") for w in words if len(w) < 8], dtype="<u8"
    )


def _layout() -> np.dtype | None:
    try:
        insn = capstone._cs_insn
        fields = {name: getattr(insn, name) for name in ("address", "size", "mnemonic", "op_str")}
        formats = {
            "address": np.uint64,
            "size": np.uint16,
            "mnemonic": f"S{fields['mnemonic'].size}",
            "op_str": f"S{fields['op_str'].size}",
        }
        if fields["address"].size != 8 or fields["size"].size != 2:
            return None
        return np.dtype(
            {
                "names": list(fields),
                "formats": [formats[n] for n in fields],
                "offsets": [f.offset for f in fields.values()],
                "itemsize": ctypes.sizeof(insn),
            }
        )
    except (AttributeError, TypeError, ValueError):
        return None


_LAYOUT = _layout()


def disassemble(arch: str, code: bytes, base: int) -> Instructions:
    """Every instruction decoded linearly from `base` until the first undecodable byte."""
    md = _disassembler(arch)
    if _LAYOUT is None or not code:
        return _slow(md, code, base)
    found = ctypes.POINTER(capstone._cs_insn)()
    count = capstone._cs.cs_disasm(md.csh, code, len(code), base, 0, ctypes.byref(found))
    if count <= 0:
        return _columns([], [], [], [])
    try:
        raw = (ctypes.c_char * (count * _LAYOUT.itemsize)).from_address(ctypes.addressof(found.contents))
        rows = np.frombuffer(raw, dtype=_LAYOUT, count=count)
        return Instructions(
            rows["address"].copy(), rows["size"].copy(), rows["mnemonic"].copy(), rows["op_str"].copy()
        )
    finally:
        capstone._cs.cs_free(found, count)


def _slow(md: capstone.Cs, code: bytes, base: int) -> Instructions:
    insns = list(md.disasm_lite(code, base))
    columns = list(zip(*insns, strict=True)) if insns else [(), (), (), ()]
    return _columns(*columns)


def _columns(address, size, mnemonic, operands) -> Instructions:
    return Instructions(
        np.array(address, dtype=np.uint64),
        np.array(size, dtype=np.uint16),
        np.array([m.encode() if isinstance(m, str) else m for m in mnemonic], dtype="S32"),
        np.array([o.encode() if isinstance(o, str) else o for o in operands], dtype="S160"),
    )
