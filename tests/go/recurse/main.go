// Recurse grows its goroutine stack many times over: the case that kills uretprobe users.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
)

//go:noinline
func Recurse(n int) int {
	var pad [512]byte // a big frame, so the stack must grow (and be copied) repeatedly
	pad[n%512] = byte(n)
	if n == 0 {
		return int(pad[0])
	}
	return Recurse(n-1) + 1 + int(pad[n%512]) - int(byte(n))
}

func main() {
	depth := 5000
	if len(os.Args) > 1 {
		depth, _ = strconv.Atoi(os.Args[1])
	}
	if len(os.Args) > 2 && os.Args[2] == "wait" { // for --pid: wait for a line first
		fmt.Println("ready")
		bufio.NewReader(os.Stdin).ReadString('\n')
	}
	done := make(chan int)
	go func() { done <- Recurse(depth) }()
	fmt.Println("result", <-done)
}
