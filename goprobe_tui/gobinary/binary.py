"""GoBinary: one opened Go executable, its functions and their uprobe offsets."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from goprobe_tui.gobinary.buildinfo import BuildInfo, read_buildinfo
from goprobe_tui.gobinary.elffile import ElfImage
from goprobe_tui.gobinary.errors import BinaryError
from goprobe_tui.gobinary.locate import locate_pclntab
from goprobe_tui.gobinary.textbase import resolve_text_start


def package_of(name: str) -> str:
    """The package path of a Go symbol name, as debug/gosym.Sym.PackageName does it."""
    if name.startswith(("go:", "type:", "go.")):
        return ""
    slash = name.rfind("/", 0, name.find("[") if "[" in name else len(name))
    dot = name.find(".", slash + 1)
    return name[:dot] if dot >= 0 else ""


@dataclass(frozen=True)
class Function:
    index: int
    name: str
    entry: int
    end: int
    offset: int  # file offset for uprobe_events; -1 if the entry is not in the file
    file: str
    line: int

    @property
    def size(self) -> int:
        return self.end - self.entry

    @property
    def package(self) -> str:
        return package_of(self.name)


class FunctionTable:
    """Columnar function data (numpy arrays + lists), in pclntab order."""

    def __init__(self, names: list[str], entry: np.ndarray, end: np.ndarray,
                 offset: np.ndarray, files: list[str], lines: np.ndarray,
                 func_off: np.ndarray, args: np.ndarray) -> None:
        self.names = names
        self.entry = entry
        self.end = end
        self.offset = offset
        self.files = files
        self.lines = lines
        self.func_off = func_off
        self.args = args  # _func.args: bytes of arguments and results

    def __len__(self) -> int:
        return len(self.names)

    def __getitem__(self, i: int) -> Function:
        return Function(i, self.names[i], int(self.entry[i]), int(self.end[i]),
                        int(self.offset[i]), self.files[i], int(self.lines[i]))

    def __iter__(self):
        return (self[i] for i in range(len(self)))


class GoBinary:
    """Open with `GoBinary.open(path)`; raises BinaryError for anything that is not usable."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.elf = ElfImage(path)
        try:
            located = locate_pclntab(self.elf)
            self.pclntab = located.table
            self.pclntab_found_by = located.how
            self.text_start, self.text_start_source = resolve_text_start(self.elf, self.pclntab)
        except BinaryError:
            self.elf.close()
            raise
        except (ValueError, IndexError, OverflowError, MemoryError) as exc:
            self.elf.close()
            raise BinaryError(f"corrupt Go tables: {exc}") from None

    @classmethod
    def open(cls, path: str) -> GoBinary:
        return cls(path)

    def close(self) -> None:
        self.elf.close()

    def __enter__(self) -> GoBinary:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def arch(self) -> str:
        return self.elf.arch

    @property
    def pclntab_version(self) -> str:
        return self.pclntab.header.version

    @cached_property
    def buildinfo(self) -> BuildInfo:
        return read_buildinfo(self.elf)

    @cached_property
    def dwarf(self):  # -> DwarfParams; one lazily built index per binary, shared by all users
        from goprobe_tui.gobinary.dwarfparams import DwarfParams  # it imports this module

        return DwarfParams(self)

    @property
    def goversion(self) -> str:
        return self.buildinfo.goversion

    @cached_property
    def functions(self) -> FunctionTable:
        try:
            return self._read_functions()
        except (ValueError, IndexError, OverflowError, MemoryError) as exc:
            raise BinaryError(f"corrupt function table: {exc}") from None

    def _read_functions(self) -> FunctionTable:
        tab = self.pclntab
        raw = tab.raw_functions(self.text_start)
        names = tab.names(raw.name_off)
        lines = tab.lines_at_entry(raw)
        files = tab.files_at_entry(raw)
        offset = np.full(len(raw.entry), -1, dtype=np.int64)
        entry = raw.entry.astype(np.int64)
        for seg in self.elf.segments:
            if not seg.executable:
                continue
            inside = (entry >= seg.vaddr) & (entry < seg.vaddr + seg.filesz)
            offset[inside] = entry[inside] - seg.vaddr + seg.offset
        return FunctionTable(names, raw.entry, raw.end, offset, files, lines, raw.func_off, raw.args)

    def find(self, name: str) -> Function | None:
        try:
            return self.functions[self.functions.names.index(name)]
        except ValueError:
            return None

    def code(self, fn: Function) -> bytes:
        """The bytes of [entry, end) from the file, for disassembly."""
        if fn.offset < 0:
            raise BinaryError(f"{fn.name} is not in the file")
        return self.elf.read_vaddr(fn.entry, fn.size)
