// Hostile is traced by the hostile-conditions tests: a comm holding a newline, a function whose
// whole body is one RET (entry and return probe on one address), a [1]T argument, generics.
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"time"
	"unsafe"
)

//go:noinline
func Tick(i int) int { return i + 1 }

// Same is a lone RET: its argument register already holds the result.
//
//go:noinline
func Same(x int) int { return x }

//go:noinline
func Outer(i int) int { return Same(i) + Same(i+1) }

//go:noinline
func Arr1V(a [1]int, q int) int { return a[0] + q }

//go:noinline
func Gen[T any](v T) T { return v }

// Größe has a non-ASCII name, as Go allows.
//
//go:noinline
func Größe(x int) int { return x * 2 }

// setComm renames this thread (prctl PR_SET_NAME), as a hostile program may.
func setComm(name string) {
	b := append([]byte(name), 0)
	syscall.RawSyscall6(syscall.SYS_PRCTL, syscall.PR_SET_NAME, uintptr(unsafe.Pointer(&b[0])), 0, 0, 0, 0)
}

func main() {
	n := 10
	if len(os.Args) > 2 {
		n, _ = strconv.Atoi(os.Args[2])
	}
	sum := 0
	switch os.Args[1] {
	case "comm":
		runtime.LockOSThread() // the comm is per thread
		setComm("a\nb")
		for i := 0; i < n; i++ {
			sum += Tick(i)
		}
		time.Sleep(300 * time.Millisecond) // long enough for the tracer to look this thread up
		setComm("hostile")
		for i := 0; i < n; i++ {
			sum += Tick(i)
		}
	case "same":
		for i := 0; i < n; i++ {
			sum += Outer(i)
		}
	case "arr":
		sum = Arr1V([1]int{77}, 5)
	case "gen":
		sum = Gen[int](7) + len(Gen[string]("seven"))
	case "sleep":
		time.Sleep(time.Duration(n) * time.Millisecond)
		sum = Größe(n)
	case "stdin": // calls Größe once told to (a line on stdin): no race with the attach
		bufio.NewReader(os.Stdin).ReadString('\n')
		sum = Größe(n)
	}
	fmt.Println("sum", sum)
}
