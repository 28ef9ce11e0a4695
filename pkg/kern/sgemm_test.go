package kern

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// refGemm is the obviously-correct float64 triple loop the kernels are held to.
func refGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) []float64 {
	out := make([]float64, len(c))
	for i := range c {
		out[i] = float64(c[i])
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				ai, bi := i*lda+p, p*ldb+j
				if transA {
					ai = p*lda + i
				}
				if transB {
					bi = j*ldb + p
				}
				av, bv := a[ai], b[bi]
				s += float64(av) * float64(bv)
			}
			out[i*ldc+j] = float64(alpha)*s + float64(beta)*float64(c[i*ldc+j])
		}
	}
	return out
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// withBackends runs f once per backend this CPU runs, in parallel, each
// with an engine of its own.
func withBackends(t *testing.T, f func(t *testing.T, e *Engine)) {
	for _, b := range backends {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			f(t, engineOf(b))
		})
	}
}

// withNativeBF16 runs f once per backend with native bf16 bodies, which f
// compares with the portable engine.
func withNativeBF16(t *testing.T, f func(t *testing.T, fast, portable *Engine)) {
	ran := false
	for _, b := range backends {
		if b.NativeBF16 {
			ran = true
			t.Run(b.Name, func(t *testing.T) { f(t, engineOf(b), engineOf(generic)) })
		}
	}
	if !ran {
		t.Skip("no native bf16 on this CPU")
	}
}

func TestSgemm(t *testing.T) { testSgemm(t, FP32) }

// In bf16 mode the reference multiplies the bf16-rounded inputs; only the
// float32 accumulation differs.
func TestSgemmBF16(t *testing.T) { testSgemm(t, BF16) }

func roundBF16(s []float32) []float32 {
	out := make([]float32, len(s))
	for i, v := range s {
		out[i] = fromBF16(toBF16(v))
	}
	return out
}

func testSgemm(t *testing.T, p Precision) {
	withBackends(t, func(t *testing.T, e *Engine) {
		r := rand.New(rand.NewPCG(1, 2))
		sizes := [][3]int{{1, 1, 1}, {3, 7, 9}, {12, 32, 1}, {13, 33, 31}, {25, 65, 257}, {200, 70, 300}, {1, 100, 600}, {300, 1, 5}, {37, 1100, 20}, {8, 2304, 512}, {130, 140, 70}, {0, 5, 5}, {5, 5, 0}}
		for _, sz := range sizes {
			for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
				for _, ab := range [][2]float32{{1, 0}, {1, 1}, {0.5, -2}, {0, 3}} {
					m, n, k := sz[0], sz[1], sz[2]
					name := fmt.Sprintf("%dx%dx%d/tA=%v/tB=%v/alpha=%g/beta=%g", m, n, k, tr[0], tr[1], ab[0], ab[1])
					// Strides wider than the matrices, and guard values past C.
					lda, ldb, ldc := k+3, n+5, n+2
					ar, br := m, k
					if tr[0] {
						lda, ar = m+3, k
					}
					if tr[1] {
						ldb, br = k+5, n
					}
					a, b := randSlice(r, ar*lda), randSlice(r, br*ldb)
					const guard = 1e30
					c := randSlice(r, m*ldc+7)
					for i := range c {
						if i%ldc >= n || i >= m*ldc {
							c[i] = guard
						}
					}
					ra, rb := a, b
					if p == BF16 && !tr[0] && min(m, n) >= minBF16Side {
						ra, rb = roundBF16(a), roundBF16(b)
					}
					want := refGemm(tr[0], tr[1], m, n, k, ab[0], ra, lda, rb, ldb, ab[1], c, ldc)
					e.SgemmIn(p, tr[0], tr[1], m, n, k, ab[0], a, lda, b, ldb, ab[1], c, ldc)
					for i, w := range want {
						if i%ldc >= n || i >= m*ldc {
							if c[i] != guard {
								t.Fatalf("%s: guard at %d overwritten: %g", name, i, c[i])
							}
							continue
						}
						if d := math.Abs(float64(c[i]) - w); d > 1e-4*(1+math.Abs(w))*math.Sqrt(float64(k+1)) {
							t.Fatalf("%s: C[%d,%d] = %g, want %g", name, i/ldc, i%ldc, c[i], w)
						}
					}
				}
			}
		}
	})
}

// The result must not depend on how many cores share the work.
func TestSgemmThreadsIdentical(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(3, 4))
	for _, sz := range [][3]int{{517, 70, 300}, {40, 900, 600}} {
		m, n, k := sz[0], sz[1], sz[2]
		a, b := randSlice(r, m*k), randSlice(r, k*n)
		var got [][]float32
		for _, th := range []int{1, 2, 3} {
			c := make([]float32, m*n)
			Default().WithThreads(th).Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
			got = append(got, c)
		}
		for i := range got[0] {
			if got[0][i] != got[1][i] || got[0][i] != got[2][i] {
				t.Fatalf("%v: element %d differs across thread counts: %v %v %v", sz, i, got[0][i], got[1][i], got[2][i])
			}
		}
	}
}

func TestSgemmPanicsOnBadShape(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for a too-short C")
		}
	}()
	Default().Sgemm(false, false, 2, 2, 2, 1, make([]float32, 4), 2, make([]float32, 4), 2, 0, make([]float32, 3), 2)
}

// Shapes are m×n×k; the ResNet-18 ones are conv forward GEMMs at 512 views:
// (views·OH·OW) × Cout × (KH·KW·Cin).
var benchShapes = []struct {
	name           string
	m, n, k        int
	transA, transB bool
}{
	{"square1024", 1024, 1024, 1024, false, false},
	{"imagenet_conv1_fwd", 512 * 256, 64, 147, false, true},
	{"layer1_fwd", 512 * 64, 64, 576, false, true},
	{"layer1_dgrad", 512 * 64, 576, 64, false, false},
	{"layer1_wgrad", 64, 576, 512 * 64, true, false},
	{"layer2_fwd", 512 * 16, 128, 1152, false, true},
	{"layer3_fwd", 512 * 4, 256, 2304, false, true},
	{"layer4_fwd", 512, 512, 4608, false, true},
	{"layer4_dgrad", 512, 4608, 512, false, false},
	{"layer4_wgrad", 512, 4608, 512, true, false},
	{"cifar_layer1_fwd", 512 * 1024, 64, 576, false, true},
}

func BenchmarkSgemm(b *testing.B)     { benchSgemm(b, FP32) }
func BenchmarkSgemmBF16(b *testing.B) { benchSgemm(b, BF16) }

func benchSgemm(b *testing.B, p Precision) {
	r := rand.New(rand.NewPCG(5, 6))
	e := Default()
	for _, s := range benchShapes {
		b.Run(s.name, func(b *testing.B) {
			a, bm := randSlice(r, s.m*s.k), randSlice(r, s.k*s.n)
			c := make([]float32, s.m*s.n)
			lda, ldb := s.k, s.n
			if s.transA {
				lda = s.m
			}
			if s.transB {
				ldb = s.k
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				e.SgemmIn(p, s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bm, ldb, 0, c, s.n)
			}
			b.ReportMetric(2*float64(s.m)*float64(s.n)*float64(s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
