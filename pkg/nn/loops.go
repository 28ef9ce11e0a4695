package nn

import (
	"fmt"

	"github.com/simclr-go/simclr/pkg/kern"
)

// minParallelWork is the number of values below which a loop runs on the
// calling goroutine: splitting tiny loops costs more than it saves. A
// variable so that tests can force the split on small shapes.
var minParallelWork = 1 << 14

// parallel runs t over [0, n) with e.ParallelTask when work, the number
// of values the loop touches, is large enough to pay for it.
func parallel(e *kern.Engine, n, work int, t kern.Task) {
	if work < minParallelWork {
		if n > 0 {
			t.Run(0, n)
		}
		return
	}
	e.ParallelTask(n, t)
}

// parallelPooled is parallel for the free functions, which have no layer to
// keep their task in: a task of their own would escape to the workers and
// allocate on every call, so it comes from tasks (one list per task type)
// set to v, and is cleared before it goes back so that the list keeps no
// buffer alive.
func parallelPooled[T any, PT interface {
	*T
	kern.Task
}](tasks *kern.FreeList[T], e *kern.Engine, n, work int, v T) {
	t := tasks.Get()
	*t = v
	parallel(e, n, work, PT(t))
	*t = *new(T)
	tasks.Put(t)
}

// need panics unless s holds at least size values: a wrong buffer is a
// programming error, as in kern.Engine.Sgemm. It returns s cut to size.
func need(what string, s []float32, size int) []float32 {
	if len(s) < size {
		panic(fmt.Sprintf("nn: %s has %d values, needs %d", what, len(s), size))
	}
	return s[:size]
}

// checkBatch panics unless 0 <= n <= the capacity a layer was built for.
func checkBatch(n, capacity int) {
	if n < 0 || n > capacity {
		panic(fmt.Sprintf("nn: batch %d outside the capacity %d the layer was built for", n, capacity))
	}
}
