// A larger program: much of the standard library, generics, methods, closures.
package main

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"text/template"
)

type Server struct{ hits int }

//go:noinline
func (s *Server) handleConn(w http.ResponseWriter, r *http.Request) {
	s.hits++
	fmt.Fprintf(w, "hello %s", r.URL.Path)
}

type Number interface{ ~int | ~int64 | ~float64 }

//go:noinline
func Sum[T Number](xs []T) T {
	var t T
	for _, x := range xs {
		t += x
	}
	return t
}

//go:noinline
func Greet(name string, times int, loud bool) (string, error) {
	if times < 0 {
		return "", fmt.Errorf("negative times %d", times)
	}
	s := strings.Repeat("hi "+name+" ", times)
	if loud {
		s = strings.ToUpper(s)
	}
	return s, nil
}

func main() {
	s := &Server{}
	ts := httptest.NewServer(http.HandlerFunc(s.handleConn))
	defer ts.Close()
	words := []string{"b", "a", "c"}
	sort.Strings(words)
	b, _ := json.Marshal(map[string]any{"words": words, "sum": Sum([]int{1, 2, 3}), "f": Sum([]float64{1.5})})
	h := sha256.Sum256(b)
	zw := gzip.NewWriter(os.Stdout)
	_ = zw
	re := regexp.MustCompile(`a+b*`)
	tpl := template.Must(template.New("x").Parse("{{.}}\n"))
	g, _ := Greet("go", 2, true)
	_ = tpl.Execute(os.Stdout, fmt.Sprintf("%x %v %s %d", h[:4], re.MatchString("aab"), g, cgoValue()))
}
