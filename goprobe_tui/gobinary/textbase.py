"""Resolve runtime.text, the base that Go 1.18+ function offsets are relative to.

Order: the runtime.text symbol, the pclntab header's textStart (zero since Go 1.26), then
moduledata.text found through its pointer to the pclntab. `.text`'s own address is never
used: external linking puts C code first, and a wrong base corrupts the traced program.
"""

from __future__ import annotations

import numpy as np

from goprobe_tui.gobinary.elffile import ElfImage
from goprobe_tui.gobinary.errors import BinaryError
from goprobe_tui.gobinary.pclntab import PcLnTable

# moduledata word indexes, Go 1.16+ layout (runtime/symtab.go)
_MD_FUNCNAMETAB = 1
_MD_MINPC = 20
_MD_TEXT = 22
_MD_ETEXT = 23
_MD_WORDS = 24
_MD_TYPES_WORDS = 40


def resolve_text_start(elf: ElfImage, table: PcLnTable) -> tuple[int, str]:
    """(runtime.text, how it was found). Raises BinaryError rather than guess."""
    if not table.header.relative_entries:
        return table.first_entry_offset, "functab (absolute entries)"
    sym = elf.symbol_values(["runtime.text"]).get("runtime.text")
    if sym and _plausible(elf, table, sym):
        return sym, "symbol runtime.text"
    if table.header.text_start and _plausible(elf, table, table.header.text_start):
        return table.header.text_start, "pclntab header"
    text = moduledata_text(elf, table)
    if text is not None:
        return text, "moduledata"
    raise BinaryError(
        "cannot determine runtime.text (no symbol, header or moduledata); refusing to guess offsets"
    )


def _plausible(elf: ElfImage, table: PcLnTable, text: int) -> bool:
    first = text + table.first_entry_offset
    return elf.segment_for(first, executable=True) is not None


def _candidates(elf: ElfImage, target: int) -> list[int]:
    out: list[int] = []
    sec = elf.sections.get(".go.module")
    if sec is not None:
        out.append(sec.addr)
    ps = elf.ptrsize
    dtype = np.dtype(f"{'<' if elf.little_endian else '>'}u{ps}")
    for seg in elf.segments:
        if seg.executable:
            continue
        skew = (-seg.vaddr) % ps
        count = (seg.filesz - skew) // ps
        if count <= 0:
            continue
        words = np.frombuffer(elf.data, dtype=dtype, count=count, offset=seg.offset + skew)
        hits = np.flatnonzero(words == target)[:16]
        out.extend(seg.vaddr + skew + int(i) * ps for i in hits)
    return out


def moduledata_text(elf: ElfImage, table: PcLnTable) -> int | None:
    """moduledata.text, with the record validated against the pclntab it points to."""
    words = moduledata_words(elf, table)
    return None if words is None else words[_MD_TEXT]


def moduledata_types(elf: ElfImage, table: PcLnTable, goversion: tuple[int, int]) -> int | None:
    """moduledata.types: the base that type name offsets (nameOff) are relative to. Its word
    moved when Go 1.20 added covctrs (checked against runtime.types on 1.19-1.27 builds)."""
    words = moduledata_words(elf, table, _MD_TYPES_WORDS)
    if words is None:
        return None
    new_layout = goversion >= (1, 20) if goversion != (0, 0) else table.header.version == "1.20"
    types = words[37 if new_layout else 35]
    return types if elf.segment_for(types, executable=False) is not None else None


def moduledata_words(elf: ElfImage, table: PcLnTable, count: int = _MD_WORDS) -> list[int] | None:
    """The first `count` words of the moduledata record that points to this pclntab."""
    target = table.vaddr
    scanned = _candidates(elf, target)
    for with_relocs in (False, True):
        # Only if the raw words fail: external linkers may leave the pointers to relocations.
        relocs = elf.relative_relocations() if with_relocs else {}
        extra = [off for off, addend in relocs.items() if addend == target]
        for addr in dict.fromkeys(scanned + extra):
            words = _read_words(elf, addr, relocs, count)
            if words is not None and _valid_moduledata(elf, table, words):
                return words
    return None


def _read_words(elf: ElfImage, addr: int, relocs: dict[int, int], count: int) -> list[int] | None:
    ps = elf.ptrsize
    try:
        raw = elf.read_vaddr(addr, count * ps)
    except BinaryError:
        return None
    words = [int.from_bytes(raw[i : i + ps], elf.byteorder) for i in range(0, len(raw), ps)]
    # External linkers may leave pointers as 0 in the file, with the value in a RELATIVE addend.
    return [w or relocs.get(addr + i * ps, 0) for i, w in enumerate(words)]


def _valid_moduledata(elf: ElfImage, table: PcLnTable, words: list[int]) -> bool:
    if words[0] != table.vaddr:
        return False
    if words[_MD_FUNCNAMETAB] != table.vaddr + table.header.funcname_off:
        return False
    text, etext, minpc = words[_MD_TEXT], words[_MD_ETEXT], words[_MD_MINPC]
    if not text <= minpc < etext or minpc != text + table.first_entry_offset:
        return False
    return elf.segment_for(text, executable=True) is not None
