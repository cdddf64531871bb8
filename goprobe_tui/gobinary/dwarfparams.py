"""Parameter names and types of a Go function from DWARF (pyelftools), looked up lazily.

Go emits one compile unit per package, so a lookup only walks the CU of the function's
package. Results are formal parameters with DW_AT_variable_parameter set.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import Any

from goprobe_tui.gobinary.elffile import ElfImage
from goprobe_tui.gobinary.go_types import ARRAY, BOOL, FLOAT64, PTR, SLICE, STRUCT
from goprobe_tui.gobinary.names import package_of
from goprobe_tui.gobinary.params import FieldPath, Param, Part
from goprobe_tui.gobinary.type_shapes import POINTER_DEPTH, TypeNode, classify, select_path

DW_AT_GO_KIND = 0x2900
DW_AT_GO_DICT_INDEX = 0x2906  # on a generic function's .paramN typedefs: its dictionary slot
_ADDRX = (
    "DW_FORM_addrx",
    "DW_FORM_addrx1",
    "DW_FORM_addrx2",
    "DW_FORM_addrx3",
    "DW_FORM_addrx4",
    "DW_FORM_GNU_addr_index",
)
__all__ = ["DwarfParams", "FieldPath", "Param", "Part"]


class DwarfParams:
    def __init__(self, elf: ElfImage) -> None:
        self._elf = elf
        self._dwarf: Any = None  # pyelftools DWARFInfo (untyped)
        self._cus: dict[str, list] | None = None
        self._cache: dict[tuple[str, int], list[Param] | None] = {}
        self._locparser: Any = None
        self._structs: dict[str, object] = {}  # struct DIEs found by _struct_by_name
        self.available = ".debug_info" in elf.sections or ".zdebug_info" in elf.sections

    def _index(self) -> dict[str, list]:
        if self._cus is None:
            self._dwarf = self._elf.pyelftools().get_dwarf_info()
            self._cus = {}
            for cu in self._dwarf.iter_CUs():
                name = cu.get_top_DIE().attributes.get("DW_AT_name")
                if name is not None:
                    self._cus.setdefault(name.value.decode("utf-8", "replace"), []).append(cu)
        return self._cus

    def params(self, func_name: str, follow: int = POINTER_DEPTH) -> list[Param] | None:
        """The function's parameters in declaration order, or None without DWARF for it.
        follow: levels of pointers to structs described (their fields read at the probe)."""
        if not self.available:
            return None
        key = (func_name, follow)
        if key not in self._cache:
            try:
                self._cache[key] = self._lookup(func_name, follow)
            except Exception:  # pyelftools on damaged DWARF: fall back to positional args
                self._cache[key] = None
        return self._cache[key]

    def _lookup(self, func_name: str, follow: int) -> list[Param] | None:
        die = self._subprogram(func_name)
        if die is None:
            return None
        return [self._param(c, follow) for c in die.iter_children() if c.tag == "DW_TAG_formal_parameter"]

    def _subprogram(self, func_name: str):
        wanted = func_name.encode()
        pkg = package_of(func_name) or "main"
        for cu in self._index().get(pkg, []):
            for die in cu.get_top_DIE().iter_children():
                if die.tag != "DW_TAG_subprogram":
                    continue
                name = die.attributes.get("DW_AT_name")
                if name is not None and name.value == wanted:
                    return die
        return None

    def dictionary_slots(self, func_name: str) -> dict[str, int]:
        """A shape-instantiated function's types by dictionary slot: the name of what each
        `.paramN` typedef stands for (go.shape.int, []go.shape.int) -> its slot."""
        die = self.subprogram(func_name)
        out: dict[str, int] = {}
        try:
            for c in die.iter_children() if die is not None else ():
                slot = c.attributes.get(DW_AT_GO_DICT_INDEX)
                if c.tag == "DW_TAG_typedef" and slot is not None and "DW_AT_type" in c.attributes:
                    out.setdefault(_name(_resolve(c.get_DIE_from_attribute("DW_AT_type"))), slot.value)
        except Exception:  # damaged DWARF: no slots, so the dictionary is shown as read
            return {}
        return out

    def field_path(self, func_name: str, expr: str) -> FieldPath | None:
        """A Go selector on a parameter (`r.URL.Path`) as a chain of (dereference?, offset)
        steps from the parameter's value, and the leaf's shape. None if the function has no
        parameter of that name; ValueError naming what does not exist."""
        root, *names = expr.split(".")
        die = self._subprogram(func_name) if self.available else None
        if die is None:
            return None
        param = next(
            (
                c
                for c in die.iter_children()
                if c.tag == "DW_TAG_formal_parameter" and _name(c) == root and "DW_AT_type" in c.attributes
            ),
            None,
        )
        if param is None:
            return None
        return select_path(
            _DwarfNode(param.get_DIE_from_attribute("DW_AT_type")), expr, root, names, self._elf.ptrsize
        )

    def member_offset(self, package: str, type_name: str, member: str) -> int | None:
        """Where `member` sits in struct `type_name` (e.g. runtime.g's goid), or None."""
        if not self.available:
            return None
        try:
            struct = self._struct_by_name(type_name)
            if struct is None:  # not found by its name's bytes: walk the package's DIEs
                struct = next(
                    (
                        die
                        for cu in self._index().get(package, [])
                        for die in cu.get_top_DIE().iter_children()
                        if die.tag == "DW_TAG_structure_type" and _name(die) == type_name
                    ),
                    None,
                )
            for m in struct.iter_children() if struct is not None else ():
                if _name(m) == member and "DW_AT_data_member_location" in m.attributes:
                    return int(m.attributes["DW_AT_data_member_location"].value)
        except Exception:  # damaged DWARF: unknown, never a guess
            return None
        return None

    def _struct_by_name(self, type_name: str, most: int = 64):
        """The struct type DIE named `type_name`, found where its name's bytes are: Go writes
        names inline (DW_FORM_string) right after the abbreviation code, so the DIE starts one
        or two bytes before. Each candidate is parsed and checked, none is trusted. Walking
        the runtime's DIEs to reach runtime.g takes 1.5 s; this, 0.07 s."""
        if type_name in self._structs:  # runtime.g is asked once per field
            return self._structs[type_name]
        self._index()
        try:
            data = self._dwarf.debug_info_sec.stream.getvalue()  # a copy: once per struct
        except AttributeError:  # not an in-memory section: the caller walks the DIEs
            return None
        self._structs[type_name] = found = self._find_struct(data, type_name, most)
        return found

    def _find_struct(self, data: bytes, type_name: str, most: int):
        needle = type_name.encode() + b"\0"
        at = data.find(needle)
        for _ in range(most):
            if at < 0:
                return None
            for back in (1, 2):  # the abbreviation code: one ULEB128 byte, two past 127
                with contextlib.suppress(Exception):
                    die = self._dwarf.get_DIE_from_refaddr(at - back)
                    name = die.attributes.get("DW_AT_name")
                    if (
                        die.tag == "DW_TAG_structure_type"
                        and die.offset == at - back
                        and name is not None
                        and name.offset == at
                        and name.value == needle[:-1]
                    ):
                        return die
            at = data.find(needle, at + 1)
        return None

    # -- for dwarf_vars.py: DIEs, ranges and locations at a pc --------------------------
    def subprogram(self, func_name: str):
        """The function's DW_TAG_subprogram DIE, or None (no DWARF, or not there)."""
        if not self.available:
            return None
        try:
            return self._subprogram(func_name)
        except Exception:  # damaged DWARF: unknown
            return None

    def param_of(self, die, follow: int = POINTER_DEPTH) -> Param:
        """A formal parameter's or variable's shape (its abstract origin's, for an inlined one)."""
        return self._param(die, follow)

    def structs(self):
        return self._index_dwarf().structs

    def _index_dwarf(self):
        self._index()
        return self._dwarf

    def ranges_of(self, die) -> list[tuple[int, int]]:
        """[low, high) address ranges of a DIE (low_pc/high_pc or DW_AT_ranges)."""
        cu, attrs = die.cu, die.attributes
        try:
            if "DW_AT_low_pc" in attrs and "DW_AT_high_pc" in attrs:
                low = self._address(attrs["DW_AT_low_pc"], cu)
                high = attrs["DW_AT_high_pc"]
                end = self._address(high, cu) if high.form in ("DW_FORM_addr", *_ADDRX) else low + high.value
                return [(low, end)]
            if "DW_AT_ranges" in attrs and attrs["DW_AT_ranges"].form == "DW_FORM_sec_offset":
                from elftools.dwarf.ranges import BaseAddressEntry, RangeEntry

                base = self._cu_base(cu)
                out = []
                lists = self._index_dwarf().range_lists()
                for entry in lists.get_range_list_at_offset(attrs["DW_AT_ranges"].value, cu=cu):
                    if isinstance(entry, BaseAddressEntry):
                        base = entry.base_address
                    elif isinstance(entry, RangeEntry):
                        shift = 0 if getattr(entry, "is_absolute", False) else base
                        out.append((entry.begin_offset + shift, entry.end_offset + shift))
                return out
        except Exception:  # damaged DWARF: no ranges, so nothing matches
            return []
        return []

    def location_at(self, attr, die, pc: int) -> bytes | None:
        """The location expression of a DW_AT_location in force at `pc`, or None."""
        from elftools.dwarf.locationlists import (
            BaseAddressEntry,
            LocationEntry,
            LocationExpr,
            LocationParser,
        )

        cu = die.cu
        try:
            if self._locparser is None:
                self._locparser = LocationParser(self._index_dwarf().location_lists())
            found = self._locparser.parse_from_attribute(attr, cu["version"], die)
            if isinstance(found, LocationExpr):
                return bytes(found.loc_expr)
            base = self._cu_base(cu)
            for entry in found:
                if isinstance(entry, BaseAddressEntry):
                    base = entry.base_address
                elif isinstance(entry, LocationEntry):
                    shift = 0 if getattr(entry, "is_absolute", False) else base
                    if entry.begin_offset + shift <= pc < entry.end_offset + shift:
                        return bytes(entry.loc_expr)
        except Exception:  # damaged DWARF: unavailable, never a guess
            return None
        return None

    def statement_addresses(self, file: str, line: int) -> set[int] | None:
        """Addresses where DWARF's line table begins a statement of `file`:`line` (is_stmt),
        or None when no line table names the file (no DWARF, or not for this file)."""
        if not self.available:
            return None
        try:
            dwarf = self._index_dwarf()
            out: set[int] = set()
            named = False
            for cu in dwarf.iter_CUs():
                program = dwarf.line_program_for_CU(cu)
                if program is None:
                    continue
                numbers = _file_numbers(program, file)
                if not numbers:
                    continue
                named = True
                for entry in program.get_entries():
                    st = entry.state
                    if st is not None and st.line == line and st.is_stmt and st.file in numbers:
                        out.add(st.address)
            return out if named else None
        except Exception:  # damaged DWARF: the pclntab's rule applies instead
            return None

    def _cu_base(self, cu) -> int:
        low = cu.get_top_DIE().attributes.get("DW_AT_low_pc")
        return self._address(low, cu) if low is not None else 0

    def _address(self, attr, cu) -> int:
        if attr.form in _ADDRX:
            return self._index_dwarf().get_addr(cu, attr.value)
        return attr.value

    def _param(self, die, follow: int) -> Param:
        name = die.attributes["DW_AT_name"].value.decode("utf-8", "replace")
        result = bool(
            die.attributes.get("DW_AT_variable_parameter", None)
            and die.attributes["DW_AT_variable_parameter"].value
        )
        tdie = die.get_DIE_from_attribute("DW_AT_type") if "DW_AT_type" in die.attributes else None
        if tdie is None:
            return Param(name, "?", "unknown", 0, 1, result, ())
        type_name = _name(tdie)
        return replace(
            classify(_DwarfNode(tdie), self._elf.ptrsize, 0, follow),
            name=name,
            type_name=type_name,
            result=result,
        )


def _file_numbers(program, file: str) -> set[int]:
    """The numbers a line program gives `file` (DWARF 5 counts from 0, 4 from 1, and its
    directory 0 is the compile directory)."""
    v5 = program["version"] >= 5
    dirs = program["include_directory"]
    out = set()
    for i, entry in enumerate(program["file_entry"]):
        d = entry.dir_index
        directory = dirs[d] if v5 and d < len(dirs) else dirs[d - 1] if 0 < d <= len(dirs) else b""
        name = entry.name if not directory or directory == b"." else directory + b"/" + entry.name
        if name.decode("utf-8", "replace") == file:
            out.add(i if v5 else i + 1)
    return out


def _name(die) -> str:
    attr = die.attributes.get("DW_AT_name")
    return attr.value.decode("utf-8", "replace") if attr else "?"


def _resolve(die):
    for _ in range(16):  # typedef chains are short; bound them anyway
        if die.tag != "DW_TAG_typedef" or DW_AT_GO_KIND in die.attributes:
            return die
        if "DW_AT_type" not in die.attributes:
            return die
        die = die.get_DIE_from_attribute("DW_AT_type")
    return die


class _DwarfNode:
    """A DWARF type DIE as a TypeNode."""

    def __init__(self, die) -> None:
        self._die = die = _resolve(die)
        attrs = die.attributes
        self.size = attrs["DW_AT_byte_size"].value if "DW_AT_byte_size" in attrs else 8
        self.name = _name(die)
        self.kind = attrs[DW_AT_GO_KIND].value if DW_AT_GO_KIND in attrs else None
        if self.kind is None:
            if die.tag == "DW_TAG_pointer_type":
                self.kind = PTR
            elif die.tag == "DW_TAG_structure_type":
                self.kind = STRUCT
            elif die.tag == "DW_TAG_base_type":
                enc = attrs["DW_AT_encoding"].value if "DW_AT_encoding" in attrs else 0
                self.kind = {2: BOOL, 4: FLOAT64, 5: 6, 6: 3, 7: 11, 8: 8}.get(enc)
        self.count = _array_count(die) if self.kind == ARRAY else None

    @staticmethod
    def _typed(die) -> _DwarfNode | None:
        if "DW_AT_type" not in die.attributes:
            return None
        return _DwarfNode(die.get_DIE_from_attribute("DW_AT_type"))

    def members(self) -> list[tuple[str, TypeNode, int]] | None:
        out: list[tuple[str, TypeNode, int]] = []
        for m in self._die.iter_children():
            if m.tag != "DW_TAG_member" or "DW_AT_type" not in m.attributes:
                continue
            loc = m.attributes.get("DW_AT_data_member_location")
            offset = loc.value if loc is not None and isinstance(loc.value, int) else 0
            out.append((_name(m), _DwarfNode(m.get_DIE_from_attribute("DW_AT_type")), offset))
        return out

    def elem(self) -> _DwarfNode | None:
        if self.kind == SLICE:  # the target of its `array` member (a pointer to the element)
            for m in self._die.iter_children():
                if m.tag == "DW_TAG_member" and _name(m) == "array" and "DW_AT_type" in m.attributes:
                    return self._typed(_resolve(m.get_DIE_from_attribute("DW_AT_type")))
            return None
        return self._typed(self._die)


def _array_count(die) -> int | None:
    for sub in die.iter_children():
        if sub.tag == "DW_TAG_subrange_type":
            if "DW_AT_count" in sub.attributes:
                return sub.attributes["DW_AT_count"].value
            if "DW_AT_upper_bound" in sub.attributes:
                return sub.attributes["DW_AT_upper_bound"].value + 1
    return None
