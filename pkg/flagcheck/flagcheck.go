// Package flagcheck validates the tools' numeric flags, with messages that
// name the flag, its value and what it may be:
//
//	--save-every 0: want 1 to 100000
//
// Collect the checks of a command line with a Set and report them together.
package flagcheck

import (
	"errors"
	"fmt"
	"math"
)

// Set gathers the problems of one command line.
type Set struct{ errs []error }

// Int checks lo <= v <= hi for the flag --name.
func (s *Set) Int(name string, v, lo, hi int) {
	if v < lo || v > hi {
		s.errs = append(s.errs, fmt.Errorf("--%s %d: want %s", name, v, intRange(lo, hi)))
	}
}

func intRange(lo, hi int) string {
	if hi == math.MaxInt {
		return fmt.Sprintf("at least %d", lo)
	}
	return fmt.Sprintf("%d to %d", lo, hi)
}

// Float checks that v is finite and within [lo, hi], or (lo, hi] when
// openLo, for the flag --name.
func (s *Set) Float(name string, v, lo, hi float64, openLo bool) {
	ok := !math.IsNaN(v) && !math.IsInf(v, 0) && v <= hi && (v > lo || !openLo && v == lo)
	if !ok {
		want := fmt.Sprintf("%g to %g", lo, hi)
		if openLo {
			want = fmt.Sprintf("above %g, at most %g", lo, hi)
		}
		s.errs = append(s.errs, fmt.Errorf("--%s %g: want %s", name, v, want))
	}
}

// Check adds err when it is not nil: a rule that spans flags.
func (s *Set) Check(err error) {
	if err != nil {
		s.errs = append(s.errs, err)
	}
}

// Err is every problem found, joined, or nil.
func (s *Set) Err() error { return errors.Join(s.errs...) }

// Limits shared by the tools: beyond them a value is a typo, not a plan.
const (
	MaxEpochs  = 100_000
	MaxBatch   = 1 << 16
	MaxThreads = 4096
	MaxWidth   = 1 << 16
)
