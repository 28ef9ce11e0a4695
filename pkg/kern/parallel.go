package kern

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// threads is the number of workers kernels split their work over.
var threads atomic.Int32

func init() { threads.Store(int32(runtime.GOMAXPROCS(0))) }

// SetThreads sets how many cores the kernels use (at least 1).
func SetThreads(n int) { threads.Store(int32(max(n, 1))) }

// Threads reports how many cores the kernels use.
func Threads() int { return int(threads.Load()) }

// Parallel splits [0, n) into at most Threads() contiguous ranges and runs
// fn on each, the first on the calling goroutine. Ranges never overlap, so
// fn may write to disjoint parts of shared slices without locking.
func Parallel(n int, fn func(lo, hi int)) {
	parts := min(Threads(), n)
	if parts <= 1 {
		if n > 0 {
			fn(0, n)
		}
		return
	}
	var wg sync.WaitGroup
	wg.Add(parts - 1)
	for p := 1; p < parts; p++ {
		go func(lo, hi int) {
			defer wg.Done()
			fn(lo, hi)
		}(p*n/parts, (p+1)*n/parts)
	}
	fn(0, n/parts)
	wg.Wait()
}
