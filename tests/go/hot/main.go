// Hot calls a probed function N times from G goroutines (for the trace benchmark); with a
// third argument B, each goroutine rests 1 ms after every B calls (a flood a starved decoder
// can catch up with).
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

//go:noinline
func Work(a int, b int) int { return a*31 + b }

func main() {
	n, g, burst := 200000, 2, 0
	if len(os.Args) > 2 {
		n, _ = strconv.Atoi(os.Args[1])
		g, _ = strconv.Atoi(os.Args[2])
	}
	if len(os.Args) > 3 {
		burst, _ = strconv.Atoi(os.Args[3])
	}
	var wg sync.WaitGroup
	sums := make([]int, g)
	for w := 0; w < g; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < n/g; i++ {
				sums[w] += Work(i, w)
				if burst > 0 && i%burst == burst-1 {
					time.Sleep(time.Millisecond)
				}
			}
		}(w)
	}
	wg.Wait()
	fmt.Println("done", len(sums))
}
