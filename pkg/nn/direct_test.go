package nn

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/simclr-go/simclr/pkg/kern"
)

// TestDirectMatchesLowering checks the direct convolutions and the strided
// 1×1 path against the im2col one (itself checked against finite
// differences and PyTorch) on the kinds of ResNet layer they take: forward, dx overwritten and
// accumulated, and dW added to a gradient already holding values. Batches
// that are not a whole number of tiles exercise the partial last group,
// output channels not a multiple of the tile rows the partial last block.
func TestDirectMatchesLowering(t *testing.T) {
	defer func(direct bool, work, chunk int) {
		useDirect, minParallelWork, stridedChunk = direct, work, chunk
	}(useDirect, minParallelWork, stridedChunk)
	for _, tc := range []struct {
		name  string
		in    Dims
		n     int
		cout  int
		win   Window
		chunk int // if set, stridedChunk
	}{
		{"3x3 stride 1", Dims{N: 14, H: 4, W: 4, C: 32}, 13, 64, Window{K: 3, Stride: 1, Pad: 1}, 0},
		{"3x3 stride 2", Dims{N: 12, H: 8, W: 8, C: 64}, 12, 32, Window{K: 3, Stride: 2, Pad: 1}, 0},
		{"3x3 stride 2, odd sides", Dims{N: 25, H: 5, W: 7, C: 32}, 25, 96, Window{K: 3, Stride: 2, Pad: 1}, 0},
		{"1x1 map", Dims{N: 14, H: 1, W: 1, C: 32}, 14, 32, Window{K: 3, Stride: 1, Pad: 1}, 0},
		{"2x2 map, 3 panels", Dims{N: 30, H: 2, W: 2, C: 96}, 29, 64, Window{K: 3, Stride: 1, Pad: 1}, 0},
		{"1x1 stride 2", Dims{N: 26, H: 8, W: 8, C: 64}, 25, 128, Window{K: 1, Stride: 2}, 0},
		{"1x1 stride 2, odd sides", Dims{N: 7, H: 5, W: 7, C: 32}, 7, 96, Window{K: 1, Stride: 2}, 0},
		{"1x1 stride 2 to 1x1", Dims{N: 30, H: 2, W: 2, C: 64}, 29, 64, Window{K: 1, Stride: 2}, 0},
		// Units of 2 or 3 images in chunks of at most 2.
		{"1x1 stride 2, chunks", Dims{N: 40, H: 8, W: 8, C: 64}, 40, 32, Window{K: 1, Stride: 2}, 2 * 16 * 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.chunk > 0 {
				defer func(chunk int) { stridedChunk = chunk }(stridedChunk)
				stridedChunk = tc.chunk
			}
			r := rand.New(rand.NewPCG(11, 12))
			w := randSlice(r, tc.cout*tc.win.K*tc.win.K*tc.in.C)
			x := randSlice(r, tc.n*tc.in.Image())
			build := func(direct bool, eng *kern.Engine) *Conv2d {
				useDirect = direct
				c := NewConv2d("", tc.in, tc.cout, tc.win, eng)
				if (c.direct || c.subsample) != direct {
					t.Fatalf("direct %v, strided %v, want %v", c.direct, c.subsample, direct)
				}
				copy(c.Weight.Data, w)
				return c
			}
			ref := build(false, eng)
			dy := randSlice(r, tc.n*ref.Out.Image())
			base, grad0 := randSlice(r, len(x)), randSlice(r, len(w))
			// run returns y, dx overwritten, dx accumulated onto base, and
			// dW added to grad0.
			run := func(c *Conv2d) [][]float32 {
				y := nanSlice(tc.n * c.Out.Image())
				c.Forward(y, x, tc.n)
				dx := nanSlice(len(x))
				copy(c.Weight.Grad, grad0)
				c.Backward(dx, dy, x, tc.n, false)
				acc := append([]float32(nil), base...)
				c.Backward(acc, dy, x, tc.n, true)
				return [][]float32{y, dx, acc, c.Weight.Grad}
			}
			want := run(ref)
			names := []string{"y", "dx", "accumulated dx", "dW"}
			got := run(build(true, eng.WithThreads(1)))
			for i := range want {
				// Both sum hundreds of float32 products, in different orders.
				expectClose(t, names[i], got[i], to64(want[i]), 1e-4)
			}
			// Every loop split, over 2 and 3 threads: the same bits.
			minParallelWork = 0
			for _, threads := range []int{2, 3} {
				for i, v := range run(build(true, eng.WithThreads(threads))) {
					for j := range v {
						if math.Float32bits(v[j]) != math.Float32bits(got[i][j]) {
							t.Fatalf("%d threads: %s[%d] = %g, 1 thread %g", threads, names[i], j, v[j], got[i][j])
						}
					}
				}
			}
		})
	}
}

// TestDirectBF16 checks the direct convolution's bf16 mode: forward, dx
// and dW equal the float32 ones on bf16-rounded operands up to float32
// summation order (odd batches pair the last image with zeros in dW), and
// the float32 ones on the operands as they are within bf16's rounding. On
// a 1×1 map all stays float32.
func TestDirectBF16(t *testing.T) {
	for _, tc := range []struct {
		in    Dims
		cout  int
		win   Window
		pairs bool
	}{
		{Dims{N: 13, H: 4, W: 4, C: 32}, 64, Window{K: 3, Stride: 1, Pad: 1}, true},
		{Dims{N: 25, H: 5, W: 7, C: 64}, 96, Window{K: 3, Stride: 2, Pad: 1}, true},
		{Dims{N: 14, H: 1, W: 1, C: 32}, 32, Window{K: 3, Stride: 1, Pad: 1}, false},
	} {
		r := rand.New(rand.NewPCG(13, 14))
		convs := map[kern.Precision]*Conv2d{}
		for _, p := range []kern.Precision{kern.FP32, kern.BF16} {
			convs[p] = NewConv2d("", tc.in, tc.cout, tc.win, eng.WithPrecision(p))
			if !convs[p].direct {
				t.Fatalf("%+v: not direct", tc.in)
			}
		}
		n := tc.in.N
		w := randSlice(r, len(convs[kern.FP32].Weight.Data))
		x, dy := randSlice(r, n*tc.in.Image()), randSlice(r, n*convs[kern.FP32].Out.Image())
		run := func(c *Conv2d, w, x, dy []float32) [][]float32 {
			copy(c.Weight.Data, w)
			clear(c.Weight.Grad)
			y, dx := make([]float32, len(dy)), make([]float32, len(x))
			c.Forward(y, x, n)
			c.Backward(dx, dy, x, n, false)
			return [][]float32{y, dx, append([]float32(nil), c.Weight.Grad...)}
		}
		got, fp32 := run(convs[kern.BF16], w, x, dy), run(convs[kern.FP32], w, x, dy)
		if !tc.pairs {
			for i, name := range []string{"y", "dx", "dW"} {
				expectClose(t, name, got[i], to64(fp32[i]), 0)
			}
			continue
		}
		for _, threads := range []int{1, 3} {
			c := NewConv2d("", tc.in, tc.cout, tc.win, eng.WithPrecision(kern.BF16).WithThreads(threads))
			for i, v := range run(c, w, x, dy) {
				if !slices.Equal(v, got[i]) {
					t.Errorf("%+v: bf16 over %d threads: other bits than over %d (output %d)", tc.in, threads, eng.Threads(), i)
				}
			}
		}
		want := run(convs[kern.FP32], roundBF16(w), roundBF16(x), roundBF16(dy))
		for i, name := range []string{"y", "dx", "dW"} {
			expectClose(t, name, got[i], to64(want[i]), 1e-5)
			// Each operand is off by up to 2^-9 relative, and the errors
			// of a sum's products are independent: ||bf16 − fp32|| within
			// 2^-8 of ||fp32||.
			var d, f float64
			for j, v := range fp32[i] {
				d += math.Pow(float64(got[i][j]-v), 2)
				f += float64(v) * float64(v)
			}
			if rel := math.Sqrt(d / f); rel > 1.0/256 {
				t.Errorf("%+v: %s: ||bf16 - fp32|| / ||fp32|| = %.2g, want at most 2^-8", tc.in, name, rel)
			} else {
				t.Logf("%+v: %s: ||bf16 - fp32|| / ||fp32|| = %.2g", tc.in, name, rel)
			}
		}
	}
}
