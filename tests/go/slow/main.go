// Slow calls Step 25 times: 20 calls sleep 10 ms and 5 (every fifth) sleep 50 ms, for
// --slower-than.
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
	for i := 0; i < 25; i++ {
		ms := 10
		if i%5 == 4 {
			ms = 50
		}
		total += Step(i, ms)
	}
	fmt.Println(total)
}
