package kern

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestToBF16(t *testing.T) {
	for _, c := range []struct {
		in   float32
		want uint32
	}{
		{1, 0x3f80},
		{-2, 0xc000},
		{math.Float32frombits(0x3f808000), 0x3f80}, // tie: to even (down)
		{math.Float32frombits(0x3f818000), 0x3f82}, // tie: to even (up)
		{math.Float32frombits(0x3f808001), 0x3f81}, // above the tie
		{math.Float32frombits(0x00000001), 0x0000}, // denormal flushes
		{math.Float32frombits(0x7f7fffff), 0x7f80}, // rounds up to +inf
		{float32(math.Inf(-1)), 0xff80},
	} {
		if got := toBF16(c.in); got != c.want {
			t.Errorf("toBF16(%#08x) = %#04x, want %#04x", math.Float32bits(c.in), got, c.want)
		}
	}
	if nan := toBF16(float32(math.NaN())); fromBF16(nan) == fromBF16(nan) {
		t.Error("NaN did not stay NaN")
	}
}

// The assembly conversions must give the bits of the portable ones.
func TestConversionsMatchGeneric(t *testing.T) {
	withNativeBF16(t, func(t *testing.T, fast, portable *Engine) {
		r := rand.New(rand.NewPCG(4, 4))
		for _, n := range []int{1, 15, 16, 31, 32, 33, 100, 257} {
			lo, hi := randSlice(r, n), randSlice(r, n)
			got, want := make([]uint32, (n+1)/2), make([]uint32, (n+1)/2)
			fast.be.cvtBF16(got, lo)
			portable.be.cvtBF16(want, lo)
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("cvtBF16 n=%d: dword %d is %#08x, portable %#08x", n, i, got[i], want[i])
				}
			}
			got, want = make([]uint32, n), make([]uint32, n)
			fast.be.interleaveBF16(got, lo, hi)
			portable.be.interleaveBF16(want, lo, hi)
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("interleaveBF16 n=%d: dword %d is %#08x, portable %#08x", n, i, got[i], want[i])
				}
			}
		}
	})
}

// The assembly kernels sum in the order of the portable one: identical bits.
func TestBF16KernelsMatchGeneric(t *testing.T) {
	withNativeBF16(t, func(t *testing.T, fast, portable *Engine) {
		r := rand.New(rand.NewPCG(5, 5))
		const m, n, k = 137, 170, 301
		a, b := randSlice(r, m*k), randSlice(r, k*n)
		got := make([]float32, m*n)
		fast.SgemmIn(BF16, false, false, m, n, k, 1, a, k, b, n, 0, got, n)
		want := make([]float32, m*n)
		portable.SgemmIn(BF16, false, false, m, n, k, 1, a, k, b, n, 0, want, n)
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("C[%d] = %g, portable %g", i, got[i], want[i])
			}
		}
	})
}

// SgemmPairs on packed rows multiplies the bf16-rounded inputs, like bf16
// mode's Sgemm; only float32 accumulation differs from the reference.
func TestSgemmPairs(t *testing.T) {
	withBackends(t, func(t *testing.T, e *Engine) {
		r := rand.New(rand.NewPCG(6, 6))
		for _, sz := range [][3]int{{1, 1, 1}, {13, 33, 31}, {25, 70, 300}, {300, 64, 147}} {
			m, n, k := sz[0], sz[1], sz[2]
			a, b := randSlice(r, m*k), randSlice(r, n*k)
			kp := (k + 1) / 2
			pairs := make([]uint32, m*(kp+1)) // one dword of slack per row
			for i := range m {
				e.PackBF16(pairs[i*(kp+1):][:kp], a[i*k:(i+1)*k])
			}
			got := randSlice(r, m*n)
			want := refGemm(false, true, m, n, k, 1, roundBF16(a), k, roundBF16(b), k, 1, got, n)
			e.SgemmPairs(m, n, k, pairs, kp+1, true, b, k, 1, got, n)
			for i, w := range want {
				if d := math.Abs(float64(got[i]) - w); d > 1e-4*(1+math.Abs(w))*math.Sqrt(float64(k+1)) {
					t.Fatalf("%v: C[%d] = %g, want %g", sz, i, got[i], w)
				}
			}
		}
	})
}
