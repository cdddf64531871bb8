// Ticker waits for a line on stdin, then calls Tick N times and prints a checksum. The
// container test traces it inside a mount and PID namespace.
package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
)

//go:noinline
func Tick(i int, label string) int { return i*7 + len(label) }

func main() {
	n := 100
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	fmt.Println("ready")
	bufio.NewReader(os.Stdin).ReadString('\n')
	sum := 0
	for i := 0; i < n; i++ {
		sum += Tick(i, "tick")
	}
	fmt.Println("sum", sum)
}
