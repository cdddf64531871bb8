// Slow calls Step 25 times: 20 calls sleep 10 ms and 5 (every fifth) sleep 50 ms, for
// --slower-than and pprof; it prints its own measure of the time spent in Step (ns), then
// each call's (ns).
package main

import (
	"fmt"
	"time"
)

//go:noinline
func Step(i int, ms int) int {
	time.Sleep(time.Duration(ms) * time.Millisecond)
	return i * ms
}

func main() {
	total := 0
	var inStep time.Duration // the program's own measure of its time in Step
	took := make([]int64, 0, 25)
	for i := 0; i < 25; i++ {
		ms := 10
		if i%5 == 4 {
			ms = 50
		}
		start := time.Now()
		total += Step(i, ms)
		d := time.Since(start)
		inStep += d
		took = append(took, d.Nanoseconds())
	}
	fmt.Println(total, inStep.Nanoseconds())
	fmt.Println(took) // each call's length: a loaded machine oversleeps a 10 ms sleep at times
}
