package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/simclr-go/simclr/pkg/kern"
)

// In bf16 a convolution equals the float32 one on bf16-rounded input
// and weight, up to float32 accumulation order: the lowering straight to
// bf16 pairs must put every value where im2col does.
func TestConvForwardBF16(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for _, tc := range []struct {
		in   Dims
		cout int
		win  Window
	}{
		{Dims{N: 3, H: 9, W: 8, C: 3}, 16, Window{K: 7, Stride: 2, Pad: 3}}, // odd K*K*Cin
		{Dims{N: 2, H: 6, W: 5, C: 8}, 20, Window{K: 3, Stride: 1, Pad: 1}},
		{Dims{N: 2, H: 6, W: 6, C: 4}, 12, Window{K: 1, Stride: 2}},
	} {
		c := NewConv2d("", tc.in, tc.cout, tc.win, eng.WithPrecision(kern.BF16))
		copy(c.Weight.Data, randSlice(r, len(c.Weight.Data)))
		x := randSlice(r, tc.in.N*tc.in.Image())
		got := make([]float32, tc.in.N*c.Out.Image())
		c.Forward(got, x, tc.in.N)
		f := NewConv2d("", tc.in, tc.cout, tc.win, eng)
		copy(f.Weight.Data, roundBF16(c.Weight.Data))
		want := make([]float32, len(got))
		f.Forward(want, roundBF16(x), tc.in.N)
		for i := range want {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-5*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("%+v: y[%d] = %g, float32 on rounded inputs %g", tc.in, i, got[i], want[i])
			}
		}
	}
}

// roundBF16 rounds s to bfloat16 values: the top 16 bits, to nearest even.
func roundBF16(s []float32) []float32 {
	out := make([]float32, len(s))
	for i, v := range s {
		b := math.Float32bits(v)
		out[i] = math.Float32frombits((b + 0x7fff + (b>>16)&1) &^ 0xffff)
	}
	return out
}
