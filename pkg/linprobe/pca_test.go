package linprobe

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/simclr-go/simclr/pkg/kern"
)

// hadamard4 is an orthogonal 4×4 matrix whose entries all have the same
// magnitude: data mixed by it has equal variance in every feature, so
// standardising scales it uniformly and leaves its principal axes, the
// columns, in place.
var hadamard4 = [4][4]float64{
	{0.5, 0.5, 0.5, 0.5},
	{0.5, -0.5, 0.5, -0.5},
	{0.5, 0.5, -0.5, -0.5},
	{0.5, -0.5, -0.5, 0.5},
}

// mixed draws n rows x = H·g with g_i ~ N(0, sd[i]²), plus offset.
func mixed(n int, sd [4]float64, offset float32, seed uint64) []float32 {
	r := rand.New(rand.NewPCG(seed, 0))
	x := make([]float32, 0, 4*n)
	for range n {
		var g [4]float64
		for i := range g {
			g[i] = sd[i] * r.NormFloat64()
		}
		for j := range 4 {
			s := 0.0
			for i := range 4 {
				s += hadamard4[j][i] * g[i]
			}
			x = append(x, float32(s)+offset)
		}
	}
	return x
}

// column returns column c of hadamard4.
func column(c int) []float64 {
	v := make([]float64, 4)
	for j := range v {
		v[j] = hadamard4[j][c]
	}
	return v
}

func TestPCA(t *testing.T) {
	for _, tc := range []struct {
		name string
		sd   [4]float64
		// want: which column of hadamard4 each component is, and the
		// fraction of the total variance along it.
		want     []int
		fraction []float64
	}{
		{"separated", [4]float64{3, 2, 1, 0.5}, []int{0, 1}, []float64{9 / 14.25, 4 / 14.25}},
		{"order from the data, not the axes", [4]float64{0.5, 1, 4, 2}, []int{2, 3, 1}, []float64{16 / 21.25, 4 / 21.25, 1 / 21.25}},
		{"rank one", [4]float64{0, 0, 0, 2}, []int{3}, []float64{1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 20000
			x := mixed(n, tc.sd, 7, 1)
			p, err := NewPCA(kern.Default(), x, 4, len(tc.want))
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Components) != len(tc.want) || len(p.Variance) != len(tc.want) {
				t.Fatalf("%d components, %d variances; want %d", len(p.Components), len(p.Variance), len(tc.want))
			}
			if math.Abs(p.Total-4) > 1e-3 {
				t.Errorf("total variance %g, want 4 (standardised features)", p.Total)
			}
			proj, err := p.Project(x)
			if err != nil {
				t.Fatal(err)
			}
			for c, col := range tc.want {
				comp := p.Components[c]
				if cos := math.Abs(dot(comp, column(col))); cos < 0.999 {
					t.Errorf("component %d: |cos| %.5f with column %d of H, want ≈ 1", c, cos, col)
				}
				if f := p.Variance[c] / p.Total; math.Abs(f-tc.fraction[c]) > 0.02 {
					t.Errorf("component %d: %.4f of the variance, want %.4f", c, f, tc.fraction[c])
				}
				if norm := math.Sqrt(dot(comp, comp)); math.Abs(norm-1) > 1e-9 {
					t.Errorf("component %d: norm %g", c, norm)
				}
				big := 0.0
				for _, v := range comp {
					if math.Abs(v) > math.Abs(big) {
						big = v
					}
				}
				if big <= 0 {
					t.Errorf("component %d: largest entry %g, want it positive", c, big)
				}
				// The projections are centred and spread as the variance says.
				mean, sq := 0.0, 0.0
				for _, v := range proj[c] {
					mean += v / n
				}
				for _, v := range proj[c] {
					sq += (v - mean) * (v - mean) / n
				}
				if math.Abs(mean) > 1e-3 || math.Abs(sq-p.Variance[c]) > 1e-3*max(1, p.Variance[c]) {
					t.Errorf("component %d: projections have mean %g and variance %g, want 0 and %g", c, mean, sq, p.Variance[c])
				}
				for d := range c {
					if o := dot(comp, p.Components[d]); math.Abs(o) > 1e-9 {
						t.Errorf("components %d and %d: dot %g, want orthogonal", d, c, o)
					}
				}
			}
		})
	}
}

// TestPCAEigen checks the components of correlated, wider data against the
// eigen-equation of a covariance computed here in float64.
func TestPCAEigen(t *testing.T) {
	const n, dim = 3000, 24
	r := rand.New(rand.NewPCG(3, 4))
	x := make([]float32, n*dim)
	for i := range n {
		a, b := r.NormFloat64(), r.NormFloat64()
		for j := range dim {
			x[i*dim+j] = float32(float64(j%5)*a + float64(j%3)*b + r.NormFloat64())
		}
	}
	p, err := NewPCA(kern.Default(), x, dim, 2)
	if err != nil {
		t.Fatal(err)
	}
	z := make([]float64, n*dim)
	for i := range n {
		for j := range dim {
			z[i*dim+j] = float64((x[i*dim+j] - p.Mean[j]) * p.Scale[j])
		}
	}
	cov := make([]float64, dim*dim)
	for i := range n {
		row := z[i*dim : (i+1)*dim]
		for a := range dim {
			for b := range dim {
				cov[a*dim+b] += row[a] * row[b] / n
			}
		}
	}
	av := make([]float64, dim)
	for c, v := range p.Components {
		mulSym(av, cov, v)
		res := 0.0
		for j := range av {
			res = max(res, math.Abs(av[j]-p.Variance[c]*v[j]))
		}
		if res > 1e-4*p.Variance[0] {
			t.Errorf("component %d: |Cv - λv| up to %g (λ %g)", c, res, p.Variance[c])
		}
	}
	if p.Variance[0] < p.Variance[1] {
		t.Errorf("variances %v not in decreasing order", p.Variance)
	}
	// No unit vector beats the first component: try the axes and a few
	// random directions.
	for trial := range dim + 20 {
		v := make([]float64, dim)
		if trial < dim {
			v[trial] = 1
		} else {
			for j := range v {
				v[j] = r.NormFloat64()
			}
			norm := math.Sqrt(dot(v, v))
			for j := range v {
				v[j] /= norm
			}
		}
		mulSym(av, cov, v)
		if q := dot(v, av); q > p.Variance[0]*(1+1e-6) {
			t.Errorf("direction %d has variance %g > the first component's %g", trial, q, p.Variance[0])
		}
	}
}

func TestPCAErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		x      []float32
		dim, k int
		want   string
	}{
		{"no width", []float32{1, 2}, 0, 1, "feature width 0"},
		{"ragged", []float32{1, 2, 3}, 2, 1, "3 values are not rows of 2"},
		{"one row", []float32{1, 2}, 2, 1, "1 rows, want at least 2"},
		{"too many components", []float32{1, 2, 3, 4}, 2, 3, "3 components of 2 features"},
		{"no components", []float32{1, 2, 3, 4}, 2, 0, "0 components"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewPCA(kern.Default(), tc.x, tc.dim, tc.k)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// TestPCARankDeficient asks for more components than the data has
// directions: the extra ones carry no variance but are still orthonormal.
func TestPCARankDeficient(t *testing.T) {
	x := mixed(500, [4]float64{0, 0, 0, 2}, 0, 2)
	p, err := NewPCA(kern.Default(), x, 4, 3)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(p.Variance[0]-4) > 1e-3 || math.Abs(p.Variance[1]) > 1e-3 || math.Abs(p.Variance[2]) > 1e-3 {
		t.Errorf("variances %v, want 4, 0, 0", p.Variance)
	}
	for a := range p.Components {
		for b := range p.Components {
			want := 0.0
			if a == b {
				want = 1
			}
			if d := dot(p.Components[a], p.Components[b]); math.Abs(d-want) > 1e-9 {
				t.Errorf("components %d·%d = %g, want %g", a, b, d, want)
			}
		}
	}
}
