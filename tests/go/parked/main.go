// Parked puts goroutines in known states and waits, so a dump read from outside can be held
// to the runtime's own (SIGQUIT with GOTRACEBACK=all): channel receive and send, select,
// sync.Mutex, sync.WaitGroup, sleep, a network accept, and one goroutine spinning; with an
// argument N, N more receivers; each line "+N" on stdin starts N more.
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

var sink int

//go:noinline
func receiver(c chan int) { sink += <-c }

//go:noinline
func sender(c chan int) { c <- 1 }

//go:noinline
func selector(a, b chan int) {
	select {
	case v := <-a:
		sink += v
	case v := <-b:
		sink += v
	}
}

//go:noinline
func locker(mu *sync.Mutex) {
	mu.Lock()
	sink++
	mu.Unlock()
}

//go:noinline
func waiter(wg *sync.WaitGroup) { wg.Wait() }

//go:noinline
func sleeper() { time.Sleep(time.Hour) }

//go:noinline
func acceptor(l net.Listener) {
	c, err := l.Accept()
	if err == nil {
		c.Close()
	}
}

//go:noinline
func spinner() {
	for {
		sink++
	}
}

func main() {
	recv, send := make(chan int), make(chan int)
	a, b := make(chan int), make(chan int)
	var mu sync.Mutex
	var wg sync.WaitGroup
	wg.Add(1)
	mu.Lock()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Println("listen:", err)
		os.Exit(1)
	}
	for i := 0; i < 3; i++ {
		go receiver(recv)
	}
	go sender(send)
	go selector(a, b)
	go locker(&mu)
	go waiter(&wg)
	go sleeper()
	go acceptor(l)
	go spinner()
	if len(os.Args) > 1 { // N more goroutines parked on one channel (the dump benchmark)
		n, _ := strconv.Atoi(os.Args[1])
		for i := 0; i < n; i++ {
			go receiver(recv)
		}
	}
	fmt.Println("ready")
	// parked in a read until told to go on; a line "+N" starts N more receivers first (a leak,
	// for the Goroutines view's growing group)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() && strings.HasPrefix(in.Text(), "+") {
		n, _ := strconv.Atoi(in.Text()[1:])
		for i := 0; i < n; i++ {
			go receiver(recv)
		}
		fmt.Println("ready")
	}
	mu.Unlock()
}
