//go:build cgo

package main

// static int answer(void) { return 42; }
import "C"

func cgoValue() int { return int(C.answer()) }
