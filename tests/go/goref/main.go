// goref prints every function of a Go ELF binary as JSON using the standard
// library's debug/gosym: the independent reference the Python reader is tested against.
//
//	goref [-text 0xADDR | -textfrom FILE | -textheader] BINARY
//
// For Go 1.18+ tables debug/gosym needs the true runtime.text, which the caller supplies.
package main

import (
	"bufio"
	"debug/elf"
	"debug/gosym"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strconv"
)

type fn struct {
	Name   string `json:"name"`
	Entry  uint64 `json:"entry"`
	End    uint64 `json:"end"`
	Offset int64  `json:"offset"`
	File   string `json:"file"`
	Line   int    `json:"line"`
}

func symbol(f *elf.File, name string) (uint64, bool) {
	syms, err := f.Symbols()
	if err != nil {
		return 0, false
	}
	for _, s := range syms {
		if s.Name == name {
			return s.Value, true
		}
	}
	return 0, false
}

func pclntab(f *elf.File) []byte {
	for _, name := range []string{".gopclntab", ".data.rel.ro.gopclntab"} {
		if s := f.Section(name); s != nil {
			d, err := s.Data()
			if err == nil {
				return d
			}
		}
	}
	// External linking merges the table into .data.rel.ro; the symbols still bound it.
	start, ok1 := symbol(f, "runtime.pclntab")
	end, ok2 := symbol(f, "runtime.epclntab")
	if ok1 && ok2 {
		for _, p := range f.Progs {
			if p.Type == elf.PT_LOAD && p.Vaddr <= start && end <= p.Vaddr+p.Filesz {
				buf := make([]byte, end-start)
				if _, err := p.ReadAt(buf, int64(start-p.Vaddr)); err == nil {
					return buf
				}
			}
		}
	}
	fail("no pclntab section or symbols")
	return nil
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "goref:", msg)
	os.Exit(1)
}

func main() {
	textHex := flag.String("text", "", "runtime.text address")
	textFrom := flag.String("textfrom", "", "read runtime.text from this file's symbol table")
	textHeader := flag.Bool("textheader", false, "take runtime.text from the pclntab header (Go 1.18-1.25)")
	flag.Parse()
	f, err := elf.Open(flag.Arg(0))
	if err != nil {
		fail(err.Error())
	}
	tab := pclntab(f)
	var text uint64
	switch {
	case *textHex != "":
		text, err = strconv.ParseUint(*textHex, 0, 64)
		if err != nil {
			fail(err.Error())
		}
	case *textFrom != "":
		g, err := elf.Open(*textFrom)
		if err != nil {
			fail(err.Error())
		}
		var ok bool
		if text, ok = symbol(g, "runtime.text"); !ok {
			fail("no runtime.text in " + *textFrom)
		}
	case *textHeader:
		ptr := int(tab[7])
		var order binary.ByteOrder = binary.LittleEndian
		if tab[0] == 0xff {
			order = binary.BigEndian
		}
		if ptr == 8 {
			text = order.Uint64(tab[8+2*8:])
		} else {
			text = uint64(order.Uint32(tab[8+2*4:]))
		}
	default:
		text, _ = symbol(f, "runtime.text")
		if t := f.Section(".text"); text == 0 && t != nil {
			text = t.Addr // Go 1.2-1.17 tables hold absolute entries; text is unused
		}
	}
	table, err := gosym.NewTable(nil, gosym.NewLineTable(tab, text))
	if err != nil {
		fail(err.Error())
	}
	out := bufio.NewWriterSize(os.Stdout, 1<<20)
	defer out.Flush()
	fmt.Fprintf(out, "{\"text_start\": %d, \"functions\": [", text)
	for i := range table.Funcs {
		fu := &table.Funcs[i]
		file, line, _ := table.PCToLine(fu.Entry)
		rec := fn{Name: fu.Name, Entry: fu.Entry, End: fu.End, Offset: -1, File: file, Line: line}
		for _, p := range f.Progs {
			if p.Type == elf.PT_LOAD && p.Flags&elf.PF_X != 0 && p.Vaddr <= fu.Entry && fu.Entry < p.Vaddr+p.Filesz {
				rec.Offset = int64(fu.Entry - p.Vaddr + p.Off)
			}
		}
		b, _ := json.Marshal(rec)
		if i > 0 {
			out.WriteString(", ")
		}
		out.Write(b)
	}
	out.WriteString("]}\n")
}
