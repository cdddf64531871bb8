// Rounds runs one round of calls per line on stdin: Work 5 times on the main goroutine and 5
// times on each of two new goroutines, then prints "done N". For following one goroutine of a
// running process (--pid), round after round.
package main

import (
	"bufio"
	"fmt"
	"os"
	"sync"
)

//go:noinline
func Work(i, w int) int { return i*31 + w }

func main() {
	fmt.Println("ready")
	in := bufio.NewReader(os.Stdin)
	for round := 1; ; round++ {
		if _, err := in.ReadString('\n'); err != nil {
			return
		}
		sum := 0
		for i := 0; i < 5; i++ {
			sum += Work(i, 0)
		}
		var wg sync.WaitGroup
		for w := 1; w <= 2; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < 5; i++ {
					Work(i, w)
				}
			}(w)
		}
		wg.Wait()
		fmt.Println("done", round, sum)
	}
}
