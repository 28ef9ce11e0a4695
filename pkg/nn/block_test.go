package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestThreadInvariance runs a downsampling block (conv, batch norm, relu,
// add), max and average pooling and a linear layer with 1, 2 and 3 threads,
// every loop forced parallel, and expects bit-identical results. The batch
// is below the capacity and conv1 lowers it in two passes.
func TestThreadInvariance(t *testing.T) {
	defer func(work int) { minParallelWork = work }(minParallelWork)
	minParallelWork = 0

	in, n := Dims{N: 4, H: 6, W: 5, C: 3}, 3
	run := func(threads int) [][]float32 {
		eng := eng.WithThreads(threads)
		r := rand.New(rand.NewPCG(3, 4))
		b := NewBasicBlock("", in, 4, 2, eng)
		b.Conv1.chunk = 2
		var p64 [][]float64
		for _, p := range b.Params() {
			copy(p.Data, randSlice(r, len(p.Data)))
			p64 = append(p64, to64(p.Data))
		}
		x := randSlice(r, n*in.Image())
		y := make([]float32, n*b.Out.Image())
		b.Forward(y, x, n)
		expectClose(t, "block y", y, refBlock(to64(x), p64, in, n, 4, 2), 1e-5)
		dx := make([]float32, len(x))
		b.Backward(dx, randSlice(r, len(y)), x, y, n)
		outs := [][]float32{y, dx}
		for _, p := range b.Params() {
			outs = append(outs, p.Grad)
		}
		for _, buf := range b.Buffers() {
			outs = append(outs, buf.Data)
		}

		mp := NewMaxPool2d(in, Window{K: 3, Stride: 2, Pad: 1}, eng)
		py := make([]float32, n*mp.Out.Image())
		mp.Forward(py, x, n)
		pdx := make([]float32, len(x))
		mp.Backward(pdx, randSlice(r, len(py)), x, py, n)

		ay := make([]float32, n*in.C)
		AvgPoolForward(eng, ay, x, n, in.H*in.W, in.C)
		adx := make([]float32, len(x))
		AvgPoolBackward(eng, adx, randSlice(r, len(ay)), n, in.H*in.W, in.C)

		l := NewLinear("", in.C, 5, eng)
		l.Init(r)
		ly := make([]float32, n*5)
		l.Forward(ly, ay, n)
		ldx := make([]float32, len(ay))
		l.Backward(ldx, randSlice(r, len(ly)), ay, n)
		return append(outs, py, pdx, ay, adx, ly, ldx, l.Weight.Grad, l.Bias.Grad)
	}
	want := run(1)
	for _, threads := range []int{2, 3} {
		for i, got := range run(threads) {
			for j := range got {
				if math.Float32bits(got[j]) != math.Float32bits(want[i][j]) {
					t.Fatalf("%d threads: output %d [%d] = %g, want %g", threads, i, j, got[j], want[i][j])
				}
			}
		}
	}
}

// TestConvBackwardModes checks, for each kind of convolution, that
// accumulate adds onto dx what overwrite writes, that the weight gradient
// is the same with dx nil, and that reusing Forward's lowering changes
// nothing.
func TestConvBackwardModes(t *testing.T) {
	in := Dims{N: 2, H: 5, W: 6, C: 3}
	for _, win := range []Window{{K: 3, Stride: 1, Pad: 1}, {K: 3, Stride: 2, Pad: 1}, {K: 1, Stride: 2}, {K: 1, Stride: 1}} {
		r := rand.New(rand.NewPCG(5, 6))
		c := NewConv2d("", in, 4, win, eng)
		copy(c.Weight.Data, randSlice(r, len(c.Weight.Data)))
		x, dy := randSlice(r, in.N*in.Image()), randSlice(r, in.N*c.Out.Image())

		dx := nanSlice(len(x))
		c.Backward(dx, dy, x, in.N, false)
		grad := to64(c.Weight.Grad)

		base := randSlice(r, len(x))
		acc := append([]float32(nil), base...)
		ZeroGrads(c.Params())
		c.Backward(acc, dy, x, in.N, true)
		sum := to64(base)
		for i, v := range dx {
			sum[i] += float64(v)
		}
		expectClose(t, "accumulated dx", acc, sum, 1e-6)
		expectClose(t, "weight grad (accumulate)", c.Weight.Grad, grad, 0)

		ZeroGrads(c.Params())
		c.Backward(nil, dy, x, in.N, false)
		expectClose(t, "weight grad (dx nil)", c.Weight.Grad, grad, 0)

		// Right after a Forward of x (another input before it), Backward
		// reuses that lowering: the same gradients.
		y := make([]float32, in.N*c.Out.Image())
		c.Forward(y, randSlice(r, len(x)), in.N)
		c.Forward(y, x, in.N)
		ZeroGrads(c.Params())
		again := nanSlice(len(x))
		c.Backward(again, dy, x, in.N, false)
		expectClose(t, "dx after Forward", again, to64(dx), 0)
		expectClose(t, "weight grad after Forward", c.Weight.Grad, grad, 0)
	}
}

// BenchmarkBasicBlock times forward plus backward of a 64-channel block on
// 8×8 images, batch 64, and reports allocations: buffers are all sized at
// construction or on the first call, so what remains is kern.Parallel's per-call goroutine
// dispatch and the closures handed to it.
func BenchmarkBasicBlock(b *testing.B) {
	in := Dims{N: 64, H: 8, W: 8, C: 64}
	blk := NewBasicBlock("", in, 64, 1, eng)
	r := rand.New(rand.NewPCG(1, 1))
	blk.InitKaiming(r)
	x, dy := randSlice(r, in.N*in.Image()), randSlice(r, in.N*in.Image())
	y, dx := make([]float32, len(x)), make([]float32, len(x))
	blk.Forward(y, x, in.N) // size the scratch
	blk.Backward(dx, dy, x, y, in.N)
	b.ReportAllocs()
	for b.Loop() {
		blk.Forward(y, x, in.N)
		blk.Backward(dx, dy, x, y, in.N)
	}
}
