// Spawn waits for a line on stdin, then main starts 3 workers and each worker 2 leaves. Every
// goroutine prints its id and the "created by F in goroutine N" line of its own stack, so a
// test compares the lineage a trace recorded with what the program itself sees.
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

var mu sync.Mutex

func report(role string) {
	buf := make([]byte, 4096)
	buf = buf[:runtime.Stack(buf, false)]
	lines := strings.Split(string(buf), "\n")
	var id, created string
	fmt.Sscanf(lines[0], "goroutine %s", &id)
	for _, ln := range lines {
		if strings.HasPrefix(ln, "created by ") {
			created = strings.TrimPrefix(ln, "created by ")
		}
	}
	mu.Lock()
	fmt.Printf("%s %s created by %s\n", role, id, created)
	mu.Unlock()
}

//go:noinline
func leaf(wg *sync.WaitGroup) {
	defer wg.Done()
	report("leaf")
}

//go:noinline
func worker(wg *sync.WaitGroup) {
	defer wg.Done()
	report("worker")
	var inner sync.WaitGroup
	for i := 0; i < 2; i++ {
		inner.Add(1)
		go leaf(&inner)
	}
	inner.Wait()
}

func main() {
	if len(os.Args) > 1 { // `spawn N`: N goroutines that do nothing, for the cost benchmark
		n, _ := strconv.Atoi(os.Args[1])
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() { wg.Done() }()
		}
		wg.Wait()
		return
	}
	fmt.Println("ready")
	bufio.NewReader(os.Stdin).ReadString('\n')
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go worker(&wg)
	}
	wg.Wait()
}
