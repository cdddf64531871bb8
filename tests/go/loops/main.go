// Loops has helpers the compiler inlines into loops where their code ends up in more than one
// place: bounds checks whose panics sit at the function's end, an argument loaded early on one
// branch, a loop whose condition is an inlined call, a call behind a nil check. Each helper
// counts its own calls, and the program prints the counts: what a trace must count.
package main

import (
	"fmt"
	"os"
	"strconv"
)

var calls struct{ clamp, at, accept, ready, weight int }

var table = []int{3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3}

func clamp(v, lo, hi int) int {
	calls.clamp++
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// at indexes with a bounds check: its panic call sits at the end of the caller.
func at(xs []int, i int) int {
	calls.at++
	return xs[i&15] * 2
}

type scanner struct {
	buf []byte
	pos int
}

// accept is a loop's condition: `for s.accept('a') {}`.
func (s *scanner) accept(c byte) bool {
	calls.accept++
	if s.pos < len(s.buf) && s.buf[s.pos] == c {
		s.pos++
		return true
	}
	return false
}

type node struct {
	next  *node
	value int
}

func (n *node) ready() bool {
	calls.ready++
	return n.value%3 != 0
}

func weight(n *node) int {
	calls.weight++
	return n.value * 7
}

//go:noinline
func score(xs []int) int {
	s := 0
	for i, x := range xs {
		s += clamp(x*3-7, 0, 50)
		s += at(table, i+x)
	}
	return s
}

//go:noinline
func scan(text string) int {
	s := &scanner{buf: []byte(text)}
	n := 0
	for s.accept('a') {
		n++
	}
	for s.pos < len(s.buf) {
		s.pos++
		for s.accept('b') {
			n += 2
		}
	}
	return n
}

//go:noinline
func walk(head *node) int {
	total := 0
	for n := head; n != nil; n = n.next {
		if n.next != nil && n.ready() {
			total += weight(n)
		}
	}
	return total
}

// splits has a statement the compiler begins twice (`acc += k % 13`: a register move lands in
// its middle) and a loop whose variables DWARF places only after the line's first instruction.
//
//go:noinline
func splits(n, k int) int {
	acc := 0
	for j := 7; j < n; j += 10 {
		acc += j % 13
	}
	s := 0
	for i := 0; i < n/7; i++ {
		s += i * k
	}
	return acc + s
}

func main() {
	n := 88
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	xs := make([]int, n)
	var head *node
	for i := range xs {
		xs[i] = i
		head = &node{head, i}
	}
	sink := score(xs) + scan("aaaxbbbybbz") + walk(head) + splits(337, 3)
	fmt.Printf("calls clamp=%d at=%d accept=%d ready=%d weight=%d sink=%d\n",
		calls.clamp, calls.at, calls.accept, calls.ready, calls.weight, sink)
}
