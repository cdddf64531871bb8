// Insight is traced by the statistics, callers, conditions and goroutine tests.
package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

//go:noinline
func Sleepy(ms int) int {
	time.Sleep(time.Duration(ms) * time.Millisecond)
	return ms
}

var errFourth = errors.New("every fourth call fails")

//go:noinline
func Fallible(i int) (int, error) {
	if i%4 == 3 {
		return 0, errFourth
	}
	return i, nil
}

//go:noinline
func Check(i int, path string) int { return i + len(path) }

// C is reached through B, which the compiler inlines into A, and directly from D.
//
//go:noinline
func C(n int) int { return n * 3 }

func B(n int) int { return C(n+1) + 1 } // small: inlined into A

//go:noinline
func A(n int) int { return B(n) * 2 }

//go:noinline
func D(n int) int { return C(n) - 1 }

//go:noinline
func Leaf(depth int) int { return depth }

//go:noinline
func Inner(depth int) int {
	if depth == 0 {
		return Leaf(depth)
	}
	return Inner(depth-1) + 1
}

//go:noinline
func Outer(w int) int { return Inner(2) + w }

//go:noinline
func Countdown(n int) int { return n }

func main() {
	mode := "all"
	if len(os.Args) > 1 {
		mode = os.Args[1]
	}
	if mode == "all" || mode == "sleep" {
		for i := 0; i < 20; i++ {
			Sleepy(10)
		}
		for i := 0; i < 5; i++ {
			Sleepy(50)
		}
	}
	if mode == "all" || mode == "errors" {
		failed := 0
		for i := 0; i < 100; i++ {
			if _, err := Fallible(i); err != nil {
				failed++
			}
		}
		fmt.Println("failed", failed)
	}
	if mode == "all" || mode == "check" {
		paths := []string{"/api/users", "/static/x.css", "/api/orders", "/healthz"}
		for i := 0; i < 1000; i++ {
			Check(i, paths[i%len(paths)])
		}
	}
	if mode == "all" || mode == "stack" {
		fmt.Println(A(1), D(2))
	}
	if mode == "all" || mode == "tree" {
		var wg sync.WaitGroup
		for w := 0; w < 3; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				Outer(w)
			}(w)
		}
		wg.Wait()
	}
	if mode == "strings" { // every string 10 times: the conditions test counts the matches
		words := []string{"bob", "bad", "héllo", "日本語", "]", "a", "b", "/api/users", "/apx", "",
			"x.css", "日本"}
		for n := 0; n < 10; n++ {
			for i, w := range words {
				Check(i, w)
			}
		}
	}
	if mode == "countdown" { // 5,001 calls, the last with n=0
		for n := 5000; n >= 0; n-- {
			Countdown(n)
		}
	}
	_ = strings.ToUpper
}
