package kern

import (
	"sync"
	"sync/atomic"
)

// A Task is a loop body that ParallelTask splits over workers: Run handles
// [lo, hi). A Task kept in long-lived memory (a field of a layer) reaches
// the workers without allocating, where a closure would escape to the heap
// on every call.
type Task interface{ Run(lo, hi int) }

// Func is a closure as a Task, for loops off the training hot path.
type Func func(lo, hi int)

func (f Func) Run(lo, hi int) { f(lo, hi) }

// Parallel is ParallelTask for a closure; it allocates the closure.
func (e *Engine) Parallel(n int, fn func(lo, hi int)) { e.ParallelTask(n, Func(fn)) }

// ParallelTask splits [0, n) into at most e.Threads() contiguous ranges and
// runs t on each: the first on the calling goroutine, the others on
// persistent workers (shared by all engines). Ranges never overlap, so t
// may write to disjoint parts of shared slices without locking. Nested
// calls are safe: a caller runs queued ranges itself rather than wait for a
// busy worker.
func (e *Engine) ParallelTask(n int, t Task) { parallelTask(e.threads, n, t) }

func parallelTask(threads, n int, t Task) {
	parts := min(threads, n)
	if parts <= 1 {
		if n > 0 {
			t.Run(0, n)
		}
		return
	}
	startWorkers(parts - 1)
	done := waitGroups.Get()
	for p := 1; p < parts; p++ {
		j := job{t: t, lo: p * n / parts, hi: (p + 1) * n / parts, done: done}
		done.Add(1)
		select {
		case jobs <- j:
		default: // the queue is full of nested work: do it here
			j.run()
		}
	}
	t.Run(0, n/parts)
	// Run what no worker has taken yet (ours, or another caller's) instead
	// of waiting for a worker to wake up for it.
	for drained := false; !drained; {
		select {
		case j := <-jobs:
			j.run()
		default:
			drained = true
		}
	}
	done.Wait()
	waitGroups.Put(done)
}

// job is one range of a ParallelTask call.
type job struct {
	t      Task
	lo, hi int
	done   *sync.WaitGroup
}

func (j job) run() {
	j.t.Run(j.lo, j.hi)
	j.done.Done()
}

var (
	jobs       = make(chan job, 256)
	waitGroups FreeList[sync.WaitGroup]
	workers    struct {
		sync.Mutex
		n atomic.Int32
	}
)

// startWorkers makes sure at least n workers wait on the job queue. They
// live as long as the process: starting goroutines per call allocates.
func startWorkers(n int) {
	if int(workers.n.Load()) >= n {
		return
	}
	workers.Lock()
	defer workers.Unlock()
	for int(workers.n.Load()) < n {
		go func() {
			for j := range jobs {
				j.run()
			}
		}()
		workers.n.Add(1)
	}
}

// FreeList keeps values for reuse. Unlike a sync.Pool it survives garbage
// collections, which would otherwise make the next calls allocate (and,
// for GEMM scratch, re-zero a megabyte per worker).
type FreeList[T any] struct {
	sync.Mutex
	free []*T
}

// Get returns a kept value, or a new zero one.
func (l *FreeList[T]) Get() *T {
	l.Lock()
	defer l.Unlock()
	if n := len(l.free); n > 0 {
		v := l.free[n-1]
		l.free = l.free[:n-1]
		return v
	}
	return new(T)
}

// Put keeps v for a later Get.
func (l *FreeList[T]) Put(v *T) {
	l.Lock()
	l.free = append(l.free, v)
	l.Unlock()
}
