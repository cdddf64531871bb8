// Hot calls a probed function N times from G goroutines (for the trace benchmark).
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
)

//go:noinline
func Work(a int, b int) int { return a*31 + b }

func main() {
	n, g := 200000, 2
	if len(os.Args) > 2 {
		n, _ = strconv.Atoi(os.Args[1])
		g, _ = strconv.Atoi(os.Args[2])
	}
	var wg sync.WaitGroup
	sums := make([]int, g)
	for w := 0; w < g; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < n/g; i++ {
				sums[w] += Work(i, w)
			}
		}(w)
	}
	wg.Wait()
	fmt.Println("done", len(sums))
}
