"""The Goroutines view: every goroutine of the traced process, grouped, refreshed from outside."""
