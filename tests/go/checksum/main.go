// Checksum mixes numbers through a small function and prints the result: a breakpoint in
// the middle of one of its instructions would change it (or crash it).
package main

import "fmt"

//go:noinline
func Mix(x, i uint64) uint64 {
	x ^= i * 0x9E3779B97F4A7C15
	x = (x << 13) | (x >> 51)
	return x*5 + 0x632BE59BD9B4E019
}

func main() {
	var x uint64 = 1
	for i := uint64(0); i < 3_000_000; i++ {
		x = Mix(x, i)
	}
	fmt.Println("sink", int64(x))
}
