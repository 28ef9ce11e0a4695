package nn

import (
	"math/rand/v2"
	"testing"
)

// TestMaxPoolTies checks the routing of gradients where a window holds its
// maximum more than once, as ReLU's zeros do everywhere: PyTorch gives
// each output's gradient to the first such input in (kh, kw) order.
func TestMaxPoolTies(t *testing.T) {
	in := Dims{N: 3, H: 8, W: 7, C: 32}
	p := NewMaxPool2d(in, Window{K: 3, Stride: 2, Pad: 1}, eng)
	r := rand.New(rand.NewPCG(5, 6))
	n := in.N
	x := make([]float32, n*in.Image())
	for i := range x {
		x[i] = float32(r.IntN(3)) // 0, 1 or 2: ties in most windows
	}
	y := make([]float32, n*p.Out.Image())
	p.Forward(y, x, n)
	dy := randSlice(r, len(y))
	dx := nanSlice(len(x))
	p.Backward(dx, dy, x, y, n)

	want := make([]float32, len(x))
	for img := range n {
		for oh := range p.Out.H {
			for ow := range p.Out.W {
				for ch := range in.C {
					o := ((img*p.Out.H+oh)*p.Out.W+ow)*in.C + ch
					first := -1
					for kh := range 3 {
						for kw := range 3 {
							ih, iw := oh*2-1+kh, ow*2-1+kw
							if ih < 0 || ih >= in.H || iw < 0 || iw >= in.W {
								continue
							}
							if i := ((img*in.H+ih)*in.W+iw)*in.C + ch; first < 0 && x[i] == y[o] {
								first = i
							}
						}
					}
					want[first] += dy[o]
				}
			}
		}
	}
	expectClose(t, "dx", dx, to64(want), 0)
}
