package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/simclr-go/simclr/pkg/kern"
)

// gradCase is one layer under the finite-difference check: the Go layer in
// float32 and a float64 reference of its forward over the same parameters.
type gradCase struct {
	name   string
	nx     int      // input values
	params []*Param // randomised by the check
	fwd    func(y, x []float32)
	bwd    func(dx, dy, x, y []float32)
	ref    func(x []float64, p [][]float64) []float64
}

func conv2dCase(name string, in Dims, cout int, win Window, chunk int) gradCase {
	c := NewConv2d("", in, cout, win, eng)
	if chunk > 0 { // force several im2col passes, the last one partial
		c.chunk = chunk
	}
	return gradCase{
		name: name, nx: in.N * in.Image(), params: c.Params(),
		fwd: func(y, x []float32) { c.Forward(y, x, in.N) },
		bwd: func(dx, dy, x, _ []float32) { c.Backward(dx, dy, x, in.N, false) },
		ref: func(x []float64, p [][]float64) []float64 { return refConv(x, p[0], in, in.N, cout, win) },
	}
}

func batchNormCase(name string, in Dims, train bool) gradCase {
	b := NewBatchNorm("", in, eng)
	b.Train = train
	r := rand.New(rand.NewPCG(7, 7))
	for j := range in.C {
		b.RunningMean.Data[j] = float32(r.NormFloat64())
		b.RunningVar.Data[j] = float32(0.5 + r.Float64())
	}
	// The reference reads the running statistics before Forward updates them.
	mean, variance := to64(b.RunningMean.Data), to64(b.RunningVar.Data)
	if train {
		mean, variance = nil, nil
	}
	rows := in.N * in.H * in.W
	return gradCase{
		name: name, nx: rows * in.C, params: b.Params(),
		fwd: func(y, x []float32) { b.Forward(y, x, in.N) },
		bwd: func(dx, dy, x, _ []float32) { b.Backward(dx, dy, x, in.N) },
		ref: func(x []float64, p [][]float64) []float64 { return refBN(x, p[0], p[1], rows, in.C, mean, variance) },
	}
}

func gradCases() []gradCase {
	mp := NewMaxPool2d(Dims{N: 2, H: 7, W: 6, C: 3}, Window{K: 3, Stride: 2, Pad: 1}, eng)
	lin := NewLinear("", 5, 4, eng)
	// The blocks share a scratch holding garbage: nothing may depend on its
	// contents or survive in it between calls.
	scratch := &Scratch{buf: nanSlice(1000)}
	block := func(name string, in Dims, planes, stride int) gradCase {
		b := NewBasicBlock("", in, planes, stride, eng)
		b.Scratch = scratch
		return gradCase{
			name: name, nx: in.N * in.Image(), params: b.Params(),
			fwd: func(y, x []float32) { b.Forward(y, x, in.N) },
			bwd: func(dx, dy, x, y []float32) { b.Backward(dx, dy, x, y, in.N) },
			ref: func(x []float64, p [][]float64) []float64 { return refBlock(x, p, in, in.N, planes, stride) },
		}
	}
	return []gradCase{
		conv2dCase("conv3x3s1", Dims{N: 2, H: 5, W: 4, C: 3}, 4, Window{K: 3, Stride: 1, Pad: 1}, 0),
		conv2dCase("conv3x3s2", Dims{N: 2, H: 6, W: 5, C: 3}, 4, Window{K: 3, Stride: 2, Pad: 1}, 0),
		conv2dCase("conv7x7s2", Dims{N: 2, H: 9, W: 8, C: 2}, 3, Window{K: 7, Stride: 2, Pad: 3}, 0),
		conv2dCase("conv1x1s2", Dims{N: 2, H: 5, W: 4, C: 3}, 4, Window{K: 1, Stride: 2}, 0),
		conv2dCase("conv1x1s1", Dims{N: 2, H: 3, W: 4, C: 3}, 4, Window{K: 1, Stride: 1}, 0),
		conv2dCase("conv3x3s1_chunked", Dims{N: 3, H: 4, W: 4, C: 2}, 3, Window{K: 3, Stride: 1, Pad: 1}, 2),
		batchNormCase("bn2d_train", Dims{N: 2, H: 3, W: 2, C: 3}, true),
		batchNormCase("bn2d_eval", Dims{N: 2, H: 3, W: 2, C: 3}, false),
		batchNormCase("bn1d_train", Dims{N: 5, H: 1, W: 1, C: 4}, true),
		{
			name: "maxpool", nx: 2 * 7 * 6 * 3,
			fwd: func(y, x []float32) { mp.Forward(y, x, 2) },
			bwd: func(dx, dy, x, y []float32) { mp.Backward(dx, dy, x, y, 2) },
			ref: func(x []float64, _ [][]float64) []float64 { return refMaxPool(x, mp.In, 2, mp.Win) },
		},
		{
			name: "avgpool", nx: 2 * 6 * 3,
			fwd: func(y, x []float32) { AvgPoolForward(eng, y, x, 2, 6, 3) },
			bwd: func(dx, dy, _, _ []float32) { AvgPoolBackward(eng, dx, dy, 2, 6, 3) },
			ref: func(x []float64, _ [][]float64) []float64 { return refAvgPool(x, 2, 6, 3) },
		},
		{
			name: "linear", nx: 3 * 5, params: lin.Params(),
			fwd: func(y, x []float32) { lin.Forward(y, x, 3) },
			bwd: func(dx, dy, x, _ []float32) { lin.Backward(dx, dy, x, 3) },
			ref: func(x []float64, p [][]float64) []float64 { return refLinear(x, p[0], p[1], 3, 5, 4) },
		},
		{
			name: "relu", nx: 24,
			fwd: func(y, x []float32) { ReLUForward(eng, y, x) },
			bwd: func(dx, dy, _, y []float32) { ReLUBackward(eng, dx, dy, y) },
			ref: func(x []float64, _ [][]float64) []float64 { return refReLU(x) },
		},
		block("block", Dims{N: 2, H: 4, W: 3, C: 3}, 3, 1),
		block("block_down", Dims{N: 2, H: 5, W: 4, C: 2}, 3, 2),
	}
}

// TestGradients checks each layer's forward against its float64 reference
// and its backward against central differences of the reference loss
// L = sum(r * y) for a fixed random r, over every input and parameter value.
// The float64 reference makes the differences exact to ~1e-9, so the
// tolerance, |got-want| <= 1e-4*max(1,|want|), only has to absorb float32.
func TestGradients(t *testing.T) {
	for _, tc := range gradCases() {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			x := randSlice(r, tc.nx)
			p64 := make([][]float64, len(tc.params))
			for i, p := range tc.params {
				copy(p.Data, randSlice(r, len(p.Data)))
				p64[i] = to64(p.Data)
			}
			x64 := to64(x)
			want := tc.ref(x64, p64)
			y := make([]float32, len(want))
			tc.fwd(y, x)
			expectClose(t, "y", y, want, 1e-5)

			dy := randSlice(r, len(y))
			dx := nanSlice(len(x)) // Backward must overwrite dx
			ZeroGrads(tc.params)
			tc.bwd(dx, dy, x, y)
			loss := func() float64 {
				var s float64
				for i, v := range tc.ref(x64, p64) {
					s += float64(dy[i]) * v
				}
				return s
			}
			expectClose(t, "dx", dx, numericGrad(x64, loss), 1e-4)
			grads := make([][]float64, len(tc.params))
			for i, p := range tc.params {
				expectClose(t, fmt.Sprintf("param %d grad", i), p.Grad, numericGrad(p64[i], loss), 1e-4)
				grads[i] = to64(p.Grad)
			}

			// A second Backward writes dx again and adds to the gradients.
			dx2 := nanSlice(len(x))
			tc.bwd(dx2, dy, x, y)
			expectClose(t, "dx again", dx2, to64(dx), 0)
			for i, p := range tc.params {
				for j := range grads[i] {
					grads[i][j] *= 2
				}
				expectClose(t, fmt.Sprintf("param %d grad twice", i), p.Grad, grads[i], 1e-6)
			}
		})
	}
}

// numericGrad is the central difference of loss with respect to each value of v.
func numericGrad(v []float64, loss func() float64) []float64 {
	const h = 1e-6
	g := make([]float64, len(v))
	for i := range v {
		keep := v[i]
		v[i] = keep + h
		up := loss()
		v[i] = keep - h
		down := loss()
		v[i] = keep
		g[i] = (up - down) / (2 * h)
	}
	return g
}

// expectClose reports values with |got-want| > tol*max(1,|want|).
func expectClose(t *testing.T, what string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range got {
		if d := math.Abs(float64(got[i]) - want[i]); !(d <= tol*math.Max(1, math.Abs(want[i]))) {
			if bad++; bad <= 5 {
				t.Errorf("%s[%d] = %.7g, want %.7g", what, i, got[i], want[i])
			}
		}
	}
	if bad > 5 {
		t.Errorf("%s: %d of %d values off", what, bad, len(got))
	}
}

// eng computes the layers under test: the best backend, in float32.
var eng = kern.Default()

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

func nanSlice(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(math.NaN())
	}
	return s
}

func to64(s []float32) []float64 {
	d := make([]float64, len(s))
	for i, v := range s {
		d[i] = float64(v)
	}
	return d
}
