// Values is traced by the value-decoding tests: one function per kind of Go value.
package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

type User struct {
	ID    int
	Name  string
	Admin bool
}

//go:noinline
func Describe(u User) int { return u.ID + len(u.Name) }

//go:noinline
func Serve(u *User) (int, error) {
	if u == nil {
		return 404, errors.New("not found: /missing")
	}
	return 200, nil
}

//go:noinline
func Open(path string) error {
	_, err := os.Open(path)
	return err
}

//go:noinline
func Classify(v any) int {
	if _, ok := v.(int); ok {
		return 1
	}
	return 2
}

//go:noinline
func Wait(d time.Duration) time.Duration { return d / 2 }

//go:noinline
func Sum(xs []int) int {
	t := 0
	for _, x := range xs {
		t += x
	}
	return t
}

//go:noinline
func Count(m map[string]int) int { return len(m) }

//go:noinline
func Many(a, b, c, d, e, f, g, h, i, j, k int) int { return a + b + c + d + e + f + g + h + i + j + k }

type URL struct {
	Host string
	Path string
}

type Request struct {
	Method string
	URL    *URL
}

//go:noinline
func Handle(r *Request) int { return len(r.Method) }

type Color int

//go:noinline
func Paint(c Color, scale float64) int { return int(c) * int(scale) }

//go:noinline
func Nothing() {}

//go:noinline
func Divide(a, b int) (int, int) { return a / b, a % b }

//go:noinline
func Worker(n int) int { return n * 2 }

// Store is called through an interface: stripped builds still know its methods' signatures
// from the runtime type metadata.
type Store interface {
	Get(key string, n int) (string, error)
}

type MemStore struct{ prefix string }

//go:noinline
func (m *MemStore) Get(key string, n int) (string, error) {
	if n > 1 {
		return "", errors.New("too many")
	}
	return m.prefix + key, nil
}

type Counter struct{ N, Step int }

//go:noinline
func (c Counter) Get(key string, n int) (string, error) { return key, nil }

// goid as the runtime prints it: "goroutine 7 [running]:".
// Typed nils, a pointer to a struct larger than what a probe reads behind an interface, and
// a string holding an invalid UTF-8 byte.
type Evil struct {
	Name string
	N    int
}

type MyErr struct{ msg string }

func (e *MyErr) Error() string { return e.msg }

//go:noinline
func TypedNil(fail bool) (int, error) {
	var e *MyErr
	if fail {
		e = &MyErr{msg: "boom"}
	}
	return 2, e // not a nil error when !fail: the case a Go engineer hunts for
}

type Big struct {
	A, B, C       *int
	D             any
	E, F, G, H, I string
}

//go:noinline
func Keep(v any) bool { return v != nil }

//go:noinline
func Text(s string) int { return len(s) }

func goid() int {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	id, _ := strconv.Atoi(strings.Fields(string(buf))[1])
	return id
}

func main() {
	u := &User{ID: 1, Name: "bob", Admin: true}
	Describe(*u)
	Serve(u)
	Serve(nil)
	Open("/nonexistent/file")
	Classify(7)
	Classify("seven")
	Wait(1500 * time.Millisecond)
	Sum([]int{1, 2, 3})
	Count(map[string]int{"a": 1, "b": 2})
	Many(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
	Nothing()
	Paint(3, 2.5)
	Divide(7, 2)
	Handle(&Request{Method: "GET", URL: &URL{Host: "x", Path: "/healthz"}})
	Handle(&Request{Method: "HEAD"})
	for _, s := range []Store{&MemStore{prefix: "k:"}, Counter{N: 4, Step: 2}} {
		s.Get("id", 1)
		s.Get("id", 2)
	}
	Keep((*Evil)(nil))
	TypedNil(false)
	TypedNil(true)
	x := 5
	Keep(&Big{A: &x, E: "e"})
	Text("a\xffb")
	Text(`a\xffb`)
	var wg sync.WaitGroup
	var mu sync.Mutex
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			mu.Lock()
			fmt.Printf("goid %d worker %d\n", goid(), w)
			Worker(w)
			mu.Unlock()
		}(w)
	}
	wg.Wait()
	var pe *fs.PathError
	_ = pe
}
