package kern

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func close32(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		d := got[i] - want[i]
		if d < 0 {
			d = -d
		}
		if d > 1e-5*(1+max(want[i], -want[i])) {
			t.Fatalf("%s[%d] = %g, want %g", what, i, got[i], want[i])
		}
	}
}

func TestRowKernels(t *testing.T) {
	withBackends(t, func(t *testing.T, e *Engine) {
		r := rand.New(rand.NewPCG(1, 1))
		for _, c := range []int{16, 48, 64, 3, 20} {
			for _, n := range []int{1, 5} {
				t.Run(fmt.Sprintf("c%d_n%d", c, n), func(t *testing.T) {
					x, res, u := randSlice(r, n*c), randSlice(r, n*c), randSlice(r, n*c)
					scale, shift, mean := randSlice(r, c), randSlice(r, c), randSlice(r, c)
					y := make([]float32, n*c)
					for _, relu := range []bool{false, true} {
						e.ScaleShift(y, x, scale, shift, relu)
						for i, v := range x {
							w := v*scale[i%c] + shift[i%c]
							if relu {
								w = max(w, 0)
							}
							close32(t, "ScaleShift", y[i:i+1], []float32{w})
						}
					}
					e.ScaleShiftAddReLU(y, x, res, scale, shift)
					for i, v := range x {
						close32(t, "ScaleShiftAddReLU", y[i:i+1], []float32{max(v*scale[i%c]+shift[i%c]+res[i], 0)})
					}
					e.Affine2(y, x, u, scale, shift, mean)
					for i := range x {
						close32(t, "Affine2", y[i:i+1], []float32{x[i]*scale[i%c] + u[i]*shift[i%c] + mean[i%c]})
					}
					s, q := make([]float32, c), make([]float32, c)
					ws, wq := make([]float32, c), make([]float32, c)
					e.ChannelSums(s, q, x, mean)
					for i, v := range x {
						ws[i%c] += v
						wq[i%c] += (v - mean[i%c]) * (v - mean[i%c])
					}
					close32(t, "ChannelSums s", s, ws)
					close32(t, "ChannelSums t", q, wq)
					clear(s)
					e.ChannelSums(s, nil, x, nil)
					close32(t, "ChannelSums s only", s, ws)
					clear(s)
					clear(q)
					clear(ws)
					clear(wq)
					e.ChannelDots(s, q, u, x, mean)
					for i, d := range u {
						ws[i%c] += d
						wq[i%c] += d * (x[i] - mean[i%c])
					}
					close32(t, "ChannelDots s", s, ws)
					close32(t, "ChannelDots t", q, wq)
				})
			}
		}
	})
}

func TestElementwiseKernels(t *testing.T) {
	withBackends(t, func(t *testing.T, e *Engine) {
		r := rand.New(rand.NewPCG(2, 2))
		for _, n := range []int{1, 15, 16, 17, 100} {
			a, b := randSlice(r, n), randSlice(r, n)
			// One guard value past the end must survive.
			dst := append(slices.Clone(a), 42)[:n]
			e.AddTo(dst, b)
			want := make([]float32, n)
			for i := range a {
				want[i] = a[i] + b[i]
			}
			close32(t, "AddTo", dst, want)
			if dst[:n+1][n] != 42 {
				t.Fatalf("AddTo n=%d wrote past the end", n)
			}
			copy(dst, a)
			e.MaxTo(dst, b)
			for i := range a {
				want[i] = max(a[i], b[i])
			}
			close32(t, "MaxTo", dst, want)
			// Ties: rem holds a copy of a, one value in three taken from b.
			rem := slices.Clone(a)
			for i := 0; i < n; i += 3 {
				rem[i] = b[i]
			}
			copy(dst, a)
			e.RouteMax(dst, b, rem, a)
			for i := range a {
				want[i] = a[i]
				if i%3 == 0 {
					want[i] += a[i]
					if !math.IsNaN(float64(rem[i])) {
						t.Fatalf("RouteMax n=%d: rem[%d] = %g after a match, want NaN", n, i, rem[i])
					}
				} else if rem[i] != a[i] {
					t.Fatalf("RouteMax n=%d: rem[%d] changed without a match", n, i)
				}
			}
			close32(t, "RouteMax", dst, want)
			e.ReLUMask(dst, a, b)
			for i := range a {
				want[i] = 0
				if b[i] > 0 {
					want[i] = a[i]
				}
			}
			close32(t, "ReLUMask", dst, want)
		}
	})
}

func TestRowKernelsPanicOnPartialRows(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for 17 values of 16 channels")
		}
	}()
	Default().ScaleShift(make([]float32, 17), make([]float32, 17), make([]float32, 16), make([]float32, 16), false)
}
