// Launched calls Step 3 times in init and N times in main (N: its argument, else 5), prints
// what it did and exits 7: for `trace BIN PATTERN -- ARGS`, which must see the init calls too.
// With a second argument "child", it first runs itself as a child process with N=1.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
)

var calls int

//go:noinline
func Step(i int) int {
	calls++
	return i * 2
}

func init() {
	for i := 0; i < 3; i++ {
		Step(100 + i)
	}
}

func main() {
	n := 5
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	if len(os.Args) > 2 && os.Args[2] == "child" {
		child := exec.Command(os.Args[0], "1")
		child.Stdout = os.Stdout
		child.Run() // it exits 7 too
	}
	for i := 0; i < n; i++ {
		Step(i)
	}
	fmt.Println("stepped", calls)
	os.Exit(7)
}
