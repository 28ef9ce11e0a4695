package kern

import (
	"sync/atomic"
	"testing"
)

// counter is a Task that counts the indices it is given, twice over when
// nested: each range runs an inner ParallelTask of its own.
type counter struct {
	seen   []atomic.Int32
	nested bool
	e      *Engine
}

func (c *counter) Run(lo, hi int) {
	for i := lo; i < hi; i++ {
		c.seen[i].Add(1)
	}
	if c.nested {
		inner := &counter{seen: make([]atomic.Int32, 64), e: c.e}
		c.e.ParallelTask(len(inner.seen), inner)
		inner.check()
	}
}

func (c *counter) check() {
	for i := range c.seen {
		if n := c.seen[i].Load(); n != 1 {
			panic("index not run exactly once")
		}
	}
}

func TestParallelTaskRunsEachIndexOnce(t *testing.T) {
	for _, tc := range []struct {
		name       string
		threads, n int
		nested     bool
	}{
		{"serial", 1, 100, false},
		{"fewer items than threads", 4, 3, false},
		{"two threads", 2, 1001, false},
		{"many threads", 16, 1000, false},
		{"nested", 4, 100, true},
		{"empty", 2, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &counter{seen: make([]atomic.Int32, tc.n), nested: tc.nested, e: Default().WithThreads(tc.threads)}
			c.e.ParallelTask(tc.n, c)
			for i := range c.seen {
				if got := c.seen[i].Load(); got != 1 {
					t.Fatalf("index %d ran %d times", i, got)
				}
			}
		})
	}
}

func TestParallelTaskDoesNotAllocate(t *testing.T) {
	e := Default().WithThreads(2)
	c := &counter{seen: make([]atomic.Int32, 1000), e: e}
	if allocs := testing.AllocsPerRun(100, func() { e.ParallelTask(len(c.seen), c) }); allocs != 0 {
		t.Errorf("ParallelTask: %v allocations per call, want 0", allocs)
	}
	a, b, out := make([]float32, 300*200), make([]float32, 200*100), make([]float32, 300*100)
	gemm := func() { e.Sgemm(false, false, 300, 100, 200, 1, a, 200, b, 100, 0, out, 100) }
	if allocs := testing.AllocsPerRun(20, gemm); allocs != 0 {
		t.Errorf("Sgemm: %v allocations per call, want 0", allocs)
	}
}
