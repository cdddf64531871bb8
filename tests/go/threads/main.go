// Threads waits for a line on stdin, then calls Work from 8 goroutines each locked to an OS
// thread of its own: threads created after a --pid trace attached must be traced too.
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
)

//go:noinline
func Work(i, w int) int { return i*31 + w }

func threads() string {
	data, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "Threads:") {
			return strings.TrimSpace(line[8:])
		}
	}
	return "?"
}

func main() {
	fmt.Println("ready", threads())
	bufio.NewReader(os.Stdin).ReadString('\n')
	var wg sync.WaitGroup
	var ready sync.WaitGroup
	sums := make([]int, 8)
	peak := ""
	ready.Add(8)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			runtime.LockOSThread() // this goroutine keeps its thread: 8 of them at once
			ready.Done()
			ready.Wait()
			if w == 0 {
				peak = threads()
			}
			for i := 0; i < 100; i++ {
				sums[w] += Work(i, w)
			}
		}(w)
	}
	wg.Wait()
	fmt.Println("threads", peak)
}
