package nn

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestNoAllocation runs each layer of the training step on two threads with
// more than minParallelWork values, so that its loops go to the workers, and
// expects no allocation after a warm-up call: a closure or a task that
// escapes to the workers would allocate on every call.
func TestNoAllocation(t *testing.T) {
	eng := eng.WithThreads(2)
	r := rand.New(rand.NewPCG(1, 2))
	in := Dims{N: 8, H: 8, W: 8, C: 64}
	size := in.N * in.Image() // 1<<15 values
	x, dy, y, dx := randSlice(r, size), randSlice(r, size), make([]float32, size), make([]float32, size)

	bn := NewBatchNorm("bn", in, eng)
	bn.Forward(y, x, in.N) // Backward needs its statistics
	sync := NewBatchNorm("sync", in, eng)
	sync.Group = soloGroup{}
	sync.Forward(y, x, in.N)
	mp := NewMaxPool2d(in, Window{K: 3, Stride: 2, Pad: 1}, eng)
	py, pdy := make([]float32, in.N*mp.Out.Image()), randSlice(r, in.N*mp.Out.Image())
	mp.Forward(py, x, in.N)
	hw := in.H * in.W
	feat, dfeat := make([]float32, in.N*in.C), randSlice(r, in.N*in.C)
	const rows = 64 // of size/rows features
	l := NewLinear("fc", size/rows, 32, eng)
	l.Init(r)
	ly, ldy := make([]float32, rows*l.Out), randSlice(r, rows*l.Out)

	for _, c := range []struct {
		name string
		run  func()
	}{
		{"batchnorm forward", func() { bn.Forward(y, x, in.N) }},
		{"batchnorm forward add relu", func() { bn.ForwardAddReLU(y, x, dy, in.N) }},
		{"batchnorm backward", func() { bn.Backward(dx, dy, x, in.N) }},
		{"synchronised batchnorm forward", func() { sync.Forward(y, x, in.N) }},
		{"synchronised batchnorm backward", func() { sync.Backward(dx, dy, x, in.N) }},
		{"relu forward", func() { ReLUForward(eng, y, x) }},
		{"relu backward", func() { ReLUBackward(eng, dx, dy, y) }},
		{"add", func() { AddForward(eng, y, x, dy) }},
		{"max pool forward", func() { mp.Forward(py, x, in.N) }},
		{"max pool backward", func() { mp.Backward(dx, pdy, x, py, in.N) }},
		{"avg pool forward", func() { AvgPoolForward(eng, feat, x, in.N, hw, in.C) }},
		{"avg pool backward", func() { AvgPoolBackward(eng, dx, dfeat, in.N, hw, in.C) }},
		{"linear forward", func() { l.Forward(ly, x, rows) }},
		{"linear backward", func() { l.Backward(dx, ldy, x, rows) }},
	} {
		// AllocsPerRun makes the warm-up call itself. Collections in between
		// (training's logging makes them) must not empty what is reused.
		run := func() {
			runtime.GC()
			c.run()
		}
		if n := testing.AllocsPerRun(20, run); n != 0 {
			t.Errorf("%s: %g allocations per call, want 0", c.name, n)
		}
	}
}

// soloGroup is a group of one: its sums are its own. Calling it through
// the interface is what the allocation test is about.
type soloGroup struct{}

func (soloGroup) AllreduceSum64([]float64) {}
