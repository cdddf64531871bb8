// Inline is traced by the inlining tests: functions the compiler inlines into loops, into
// branches, into each other, twice into one caller, into a switch's jump table, and one that
// exists only inlined. Each counts its own calls, so no call of it folds into its caller's
// instructions (a call whose body folds away leaves no trace in the binary at all), and the
// program prints how often each really ran: what a trace must count.
package main

import (
	"fmt"
	"os"
	"strconv"
)

var calls struct{ Square, only, a, b, sumTo int }

var hist [8]int

// Square is inlined wherever it is called directly, and called out of line through `square`.
func Square(x int) int {
	calls.Square++
	return x * x
}

// only exists only inlined: no call of it stays out of line.
func only(x int) int {
	calls.only++
	return x + 7
}

// a is inlined into b, and b into C.
func a(x int) int {
	calls.a++
	return x + 1
}

func b(x int) int {
	calls.b++
	return a(x) * a(x+1)
}

//go:noinline
func C(x int) int { return b(x) * 2 }

// sumTo has a loop of its own: its body's first block runs many times per call.
func sumTo(x int) int {
	calls.sumTo++
	s := 0
	for i := 0; i < x&7; i++ {
		s += hist[i]
	}
	return s
}

//go:noinline
func Loop(n int) int {
	s := 0
	for i := 0; i < n; i++ {
		s += Square(i)
	}
	return s
}

//go:noinline
func Branch(n int) int {
	s := 0
	for i := 0; i < n; i++ {
		if i%3 == 0 {
			s += Square(i)
		} else {
			s += only(i)
		}
	}
	return s
}

//go:noinline
func Twice(x int) int { return Square(x) + Square(x+1) }

//go:noinline
func Sums(n int) int {
	s := 0
	for i := 0; i < n; i++ {
		hist[i&7]++
		s += sumTo(i)
	}
	return s
}

// Switch has enough dense cases for a jump table.
//
//go:noinline
func Switch(n int) int {
	s := 0
	for i := 0; i < n; i++ {
		switch i % 10 {
		case 0:
			s += Square(i)
		case 1:
			s += only(i)
		case 2:
			s += 3 * i
		case 3:
			s ^= i
		case 4:
			s -= i
		case 5:
			s += i << 2
		case 6:
			s |= i
		case 7:
			s += 11
		case 8:
			s *= 3
		default:
			s += sumTo(i)
		}
	}
	return s
}

// Grow calls out of line too, so it has a stack check before the inlined call.
//
//go:noinline
func Grow(n int) []int {
	k := Square(n)
	return make([]int, k&15)
}

var sink int

// square hides Square from the compiler: calls through it stay out of line.
var square = Square

func main() {
	n := 1000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	for i := 0; i < 7; i++ {
		sink += square(i)
	}
	sink += Loop(n)
	sink += Branch(30)
	sink += Twice(5)
	for i := 0; i < 4; i++ {
		sink += C(i)
	}
	sink += Sums(50)
	sink += Switch(100)
	for i := 0; i < 3; i++ {
		sink += len(Grow(i))
	}
	fmt.Printf("calls Square=%d only=%d a=%d b=%d sumTo=%d sink=%d\n",
		calls.Square, calls.only, calls.a, calls.b, calls.sumTo, sink)
}
