"""Parameter names and types of a Go function from DWARF (pyelftools), looked up lazily.

Go emits one compile unit per package, so a lookup only walks the CU of the function's
package. Results are formal parameters with DW_AT_variable_parameter set.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from goprobe_tui.gobinary.binary import GoBinary, package_of

DW_AT_GO_KIND = 0x2900
# reflect.Kind values as DW_AT_go_kind carries them
_INT_KINDS = {2, 3, 4, 5, 6}
_UINT_KINDS = {7, 8, 9, 10, 11, 12}
_PTR_KINDS = {18, 19, 21, 22, 26}
_KIND_BOOL, _KIND_F32, _KIND_F64, _KIND_C64, _KIND_C128 = 1, 13, 14, 15, 16
_KIND_ARRAY, _KIND_IFACE, _KIND_SLICE, _KIND_STRING, _KIND_STRUCT = 17, 20, 23, 24, 25
_KIND_MAP, _KIND_PTR = 21, 22


@dataclass(frozen=True)
class Part:
    """One register-sized piece of a value: 'int', 'uint', 'bool', 'ptr', or 'float'."""

    kind: str
    size: int


@dataclass(frozen=True)
class Param:
    name: str
    type_name: str
    kind: str  # int uint bool ptr float string slice iface struct unknown
    size: int
    align: int
    result: bool
    parts: tuple[Part, ...]  # flattened register pieces; empty when not register-assignable
    members: tuple[Param, ...] = ()  # a struct's fields, in order (their parts make up `parts`)
    offset: int = 0  # a struct member's byte offset in its struct
    pointee: Param | None = None  # a pointer to a struct: that struct, to read one level deep
    elem: Param | None = None  # a slice's element type


@dataclass(frozen=True)
class FieldPath:
    """`--field r.URL.Path`: from parameter `root`, each step dereferences (or not) and adds an
    offset; `leaf` is the shape of what is read there."""

    expr: str
    root: str
    steps: tuple[tuple[bool, int], ...]
    leaf: Param


class DwarfParams:
    def __init__(self, binary: GoBinary) -> None:
        self._binary = binary
        self._dwarf = None
        self._cus: dict[str, list] | None = None
        self._cache: dict[str, list[Param] | None] = {}
        self.available = ".debug_info" in binary.elf.sections or ".zdebug_info" in binary.elf.sections

    def _index(self) -> dict[str, list]:
        if self._cus is None:
            self._dwarf = self._binary.elf._elf.get_dwarf_info()
            self._cus = {}
            for cu in self._dwarf.iter_CUs():
                name = cu.get_top_DIE().attributes.get("DW_AT_name")
                if name is not None:
                    self._cus.setdefault(name.value.decode("utf-8", "replace"), []).append(cu)
        return self._cus

    def params(self, func_name: str) -> list[Param] | None:
        """The function's parameters in declaration order, or None without DWARF for it."""
        if not self.available:
            return None
        if func_name not in self._cache:
            try:
                self._cache[func_name] = self._lookup(func_name)
            except Exception:  # pyelftools on damaged DWARF: fall back to positional args
                self._cache[func_name] = None
        return self._cache[func_name]

    def _lookup(self, func_name: str) -> list[Param] | None:
        die = self._subprogram(func_name)
        if die is None:
            return None
        return [self._param(c) for c in die.iter_children() if c.tag == "DW_TAG_formal_parameter"]

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

    def field_path(self, func_name: str, expr: str) -> FieldPath | None:
        """A Go selector on a parameter (`r.URL.Path`) as a chain of (dereference?, offset)
        steps from the parameter's value, and the leaf's shape. None if the function has no
        parameter of that name; ValueError naming what does not exist."""
        root, *names = expr.split(".")
        die = self._subprogram(func_name) if self.available else None
        if die is None:
            return None
        param = next((c for c in die.iter_children() if c.tag == "DW_TAG_formal_parameter"
                      and _name(c) == root and "DW_AT_type" in c.attributes), None)
        if param is None:
            return None
        if not names:
            raise ValueError(f"--field {expr}: name a field of {root} (e.g. {root}.Name)")
        tdie = _resolve(param.get_DIE_from_attribute("DW_AT_type"))
        steps: list[tuple[bool, int]] = []
        deref, offset = False, 0
        for name in names:
            if tdie.tag == "DW_TAG_pointer_type" and "DW_AT_type" in tdie.attributes:
                if deref or steps or offset:
                    steps.append((deref, offset))
                deref, offset = True, 0
                tdie = _resolve(tdie.get_DIE_from_attribute("DW_AT_type"))
            elif not deref:
                raise ValueError(f"--field {expr}: {root} is not a pointer to a struct; only fields "
                                 "reached through pointers can be read")
            member = next((m for m in tdie.iter_children() if m.tag == "DW_TAG_member"
                           and _name(m) == name), None) if tdie.tag == "DW_TAG_structure_type" else None
            if member is None or "DW_AT_data_member_location" not in member.attributes:
                raise ValueError(f"--field {expr}: {_name(tdie)} has no field {name}")
            offset += int(member.attributes["DW_AT_data_member_location"].value)
            tdie = _resolve(member.get_DIE_from_attribute("DW_AT_type"))
        steps.append((deref, offset))
        leaf = replace(_classify(tdie, self._binary.elf.ptrsize, 1), name=expr, type_name=_name(tdie),
                       members=(), pointee=None, elem=None)
        return FieldPath(expr, root, tuple(steps), leaf)

    def member_offset(self, package: str, type_name: str, member: str) -> int | None:
        """Where `member` sits in struct `type_name` (e.g. runtime.g's goid), or None."""
        if not self.available:
            return None
        try:
            for cu in self._index().get(package, []):
                for die in cu.get_top_DIE().iter_children():
                    if die.tag == "DW_TAG_structure_type" and _name(die) == type_name:
                        for m in die.iter_children():
                            if _name(m) == member and "DW_AT_data_member_location" in m.attributes:
                                return int(m.attributes["DW_AT_data_member_location"].value)
        except Exception:  # damaged DWARF: unknown, never a guess
            return None
        return None

    def _param(self, die) -> Param:
        name = die.attributes["DW_AT_name"].value.decode("utf-8", "replace")
        result = bool(die.attributes.get("DW_AT_variable_parameter", None)
                      and die.attributes["DW_AT_variable_parameter"].value)
        tdie = die.get_DIE_from_attribute("DW_AT_type") if "DW_AT_type" in die.attributes else None
        if tdie is None:
            return Param(name, "?", "unknown", 0, 1, result, ())
        type_name = _name(tdie)
        return replace(_classify(tdie, self._binary.elf.ptrsize, 0), name=name, type_name=type_name,
                       result=result)


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


def _classify(die, ptrsize: int, depth: int) -> Param:
    """Kind, size, alignment, register parts (and struct members) of a type, following Go's
    internal ABI assignment rules. The result is unnamed: the caller names it."""
    die = _resolve(die)
    attrs = die.attributes
    size = attrs["DW_AT_byte_size"].value if "DW_AT_byte_size" in attrs else ptrsize
    kind = attrs[DW_AT_GO_KIND].value if DW_AT_GO_KIND in attrs else None
    type_name = _name(die)

    def shape(k: str, sz: int, al: int, parts: tuple[Part, ...] = (),
              members: tuple[Param, ...] = (), pointee: Param | None = None) -> Param:
        return Param("", type_name, k, sz, al, False, parts, members, pointee=pointee)

    if kind is None:
        if die.tag == "DW_TAG_pointer_type":
            kind = 22
        elif die.tag == "DW_TAG_base_type":
            enc = attrs["DW_AT_encoding"].value if "DW_AT_encoding" in attrs else 0
            kind = {2: _KIND_BOOL, 4: _KIND_F64, 5: 6, 6: 3, 7: 11, 8: 8}.get(enc)
    align = max(1, min(size, ptrsize))
    if kind in _INT_KINDS:
        return shape("int", size, align, (Part("int", size),))
    if kind in _UINT_KINDS:
        return shape("uint", size, align, (Part("uint", size),))
    if kind == _KIND_BOOL:
        return shape("bool", 1, 1, (Part("bool", 1),))
    if kind in _PTR_KINDS:
        pointee = None
        if kind == _KIND_PTR and depth == 0 and "DW_AT_type" in attrs:
            pointee = _struct_layout(die.get_DIE_from_attribute("DW_AT_type"), ptrsize)
        return shape("map" if kind == _KIND_MAP else "ptr", ptrsize, ptrsize, (Part("ptr", ptrsize),),
                     pointee=pointee)
    if kind in (_KIND_F32, _KIND_F64):
        return shape("float", size, align, (Part("float", size),))
    if kind in (_KIND_C64, _KIND_C128):
        half = size // 2
        return shape("complex", size, align, (Part("float", half), Part("float", half)))
    if kind == _KIND_STRING:
        return shape("string", 2 * ptrsize, ptrsize, (Part("ptr", ptrsize), Part("int", ptrsize)))
    if kind == _KIND_SLICE:
        slice_ = shape("slice", 3 * ptrsize, ptrsize,
                       (Part("ptr", ptrsize), Part("int", ptrsize), Part("int", ptrsize)))
        return replace(slice_, elem=_slice_elem(die, ptrsize, depth))
    if kind == _KIND_IFACE:
        return shape("iface", 2 * ptrsize, ptrsize, (Part("ptr", ptrsize), Part("ptr", ptrsize)))
    if kind == _KIND_STRUCT and depth < 4:
        members: list[Param] = []
        for member in die.iter_children():
            if member.tag != "DW_TAG_member" or "DW_AT_type" not in member.attributes:
                continue
            m = _classify(member.get_DIE_from_attribute("DW_AT_type"), ptrsize, depth + 1)
            if m.kind == "unknown":
                return shape("struct", size, ptrsize)  # not register-assignable as a whole
            members.append(replace(m, name=_name(member)))
        max_align = max((m.align for m in members), default=1)
        return shape("struct", size, max_align, tuple(p for m in members for p in m.parts),
                     tuple(members))
    if kind == _KIND_ARRAY:
        count = _array_count(die)
        if size == 0 or count == 0:
            return shape("struct", 0, 1)
        # Go's ABI assigns a [1]T like a T; longer arrays always go to the stack.
        if count == 1 and "DW_AT_type" in attrs and depth < 4:
            elem = _classify(die.get_DIE_from_attribute("DW_AT_type"), ptrsize, depth + 1)
            if elem.kind != "unknown":
                return replace(elem, type_name=type_name, size=size)
    return shape("unknown", size, align)  # on the stack, and so is a struct holding it


def _slice_elem(die, ptrsize: int, depth: int) -> Param | None:
    """The element type of a slice, from its `array` member (a pointer to the element)."""
    for member in die.iter_children():
        if member.tag == "DW_TAG_member" and _name(member) == "array" and "DW_AT_type" in member.attributes:
            ptr = _resolve(member.get_DIE_from_attribute("DW_AT_type"))
            if "DW_AT_type" in ptr.attributes and depth < 4:
                return _classify(ptr.get_DIE_from_attribute("DW_AT_type"), ptrsize, depth + 1)
    return None


def _struct_layout(die, ptrsize: int) -> Param | None:
    """A struct's members with their offsets, for reading it through a pointer."""
    die = _resolve(die)
    if die.attributes.get(DW_AT_GO_KIND) is None or die.attributes[DW_AT_GO_KIND].value != _KIND_STRUCT:
        return None
    members = []
    for member in die.iter_children():
        if member.tag != "DW_TAG_member" or "DW_AT_type" not in member.attributes:
            continue
        loc = member.attributes.get("DW_AT_data_member_location")
        if loc is None or not isinstance(loc.value, int):
            continue
        m = _classify(member.get_DIE_from_attribute("DW_AT_type"), ptrsize, 1)
        members.append(replace(m, name=_name(member), offset=loc.value, members=(), pointee=None))
    return Param("", _name(die), "struct", 0, 1, False, (), tuple(members))


def _array_count(die) -> int | None:
    for sub in die.iter_children():
        if sub.tag == "DW_TAG_subrange_type":
            if "DW_AT_count" in sub.attributes:
                return sub.attributes["DW_AT_count"].value
            if "DW_AT_upper_bound" in sub.attributes:
                return sub.attributes["DW_AT_upper_bound"].value + 1
    return None
