package linprobe

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/simclr-go/simclr/pkg/kern"
)

// PCA holds the top principal components of a set of standardised rows:
// each feature is shifted by Mean and multiplied by Scale (the reciprocal
// of its standard deviation, or 1 where it is constant), as the probe does.
type PCA struct {
	Dim         int
	Mean, Scale []float32
	Components  [][]float64 // unit vectors of length Dim, largest variance first
	Variance    []float64   // variance of the standardised rows along each component
	Total       float64     // total variance of the standardised rows (the covariance's trace)
	eng         *kern.Engine
}

// PCA's power iteration stops when no component moves by more than
// pcaTolerance (1 - |cos| between iterations), or after pcaMaxIter rounds.
const (
	pcaTolerance = 1e-12
	pcaMaxIter   = 3000
)

// NewPCA finds the k principal components of the rows of x (n rows of dim
// values) after standardising them: the covariance (dim×dim) comes from one
// matrix product, and its top k eigenvectors from orthogonal (block power)
// iteration. A component's sign is chosen so that its largest entry in
// absolute value is positive, which makes the result deterministic.
func NewPCA(eng *kern.Engine, x []float32, dim, k int) (*PCA, error) {
	switch {
	case dim < 1:
		return nil, fmt.Errorf("pca: feature width %d, want at least 1", dim)
	case len(x)%dim != 0:
		return nil, fmt.Errorf("pca: %d values are not rows of %d", len(x), dim)
	case len(x)/dim < 2:
		return nil, fmt.Errorf("pca: %d rows, want at least 2", len(x)/dim)
	case k < 1 || k > dim:
		return nil, fmt.Errorf("pca: %d components of %d features, want 1 to %d", k, dim, dim)
	}
	n := len(x) / dim
	p := &PCA{Dim: dim, eng: eng}
	p.Mean, p.Scale = moments(x, dim)
	z := make([]float32, len(x))
	p.eng.Parallel(n, func(lo, hi int) {
		for i := lo * dim; i < hi*dim; i += dim {
			for j := range dim {
				z[i+j] = (x[i+j] - p.Mean[j]) * p.Scale[j]
			}
		}
	})
	cov32 := make([]float32, dim*dim)
	p.eng.Sgemm(true, false, dim, dim, n, 1/float32(n), z, dim, z, dim, 0, cov32, dim)
	cov := make([]float64, dim*dim)
	for i, v := range cov32 {
		cov[i] = float64(v)
	}
	for j := range dim {
		p.Total += cov[j*dim+j]
	}
	p.Components, p.Variance = topEigen(cov, dim, k)
	return p, nil
}

// topEigen returns the k eigenvectors of the symmetric dim×dim matrix a
// with the largest eigenvalues, and those eigenvalues, by orthogonal
// iteration from a fixed random start.
func topEigen(a []float64, dim, k int) ([][]float64, []float64) {
	r := rand.New(rand.NewPCG(1, 2))
	v := make([][]float64, k)
	for c := range v {
		v[c] = make([]float64, dim)
		for j := range v[c] {
			v[c][j] = r.NormFloat64()
		}
	}
	orthonormalize(v)
	w := make([][]float64, k)
	for c := range w {
		w[c] = make([]float64, dim)
	}
	for range pcaMaxIter {
		for c := range v {
			mulSym(w[c], a, v[c])
		}
		orthonormalize(w)
		moved := 0.0
		for c := range v {
			moved = max(moved, 1-math.Abs(dot(v[c], w[c])))
		}
		v, w = w, v
		if moved < pcaTolerance {
			break
		}
	}
	// Rayleigh quotients, largest first.
	lambda := make([]float64, k)
	for c := range v {
		mulSym(w[0], a, v[c])
		lambda[c] = dot(v[c], w[0])
	}
	order := make([]int, k)
	for c := range order {
		order[c] = c
	}
	slices.SortStableFunc(order, func(i, j int) int { return -cmpFloat(lambda[i], lambda[j]) })
	comps, vars := make([][]float64, k), make([]float64, k)
	for c, o := range order {
		comps[c], vars[c] = v[o], lambda[o]
		if m := slices.MaxFunc(comps[c], func(a, b float64) int { return cmpFloat(math.Abs(a), math.Abs(b)) }); m < 0 {
			for j := range comps[c] {
				comps[c][j] = -comps[c][j]
			}
		}
	}
	return comps, vars
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// mulSym sets dst = a·v for the square row-major matrix a.
func mulSym(dst, a, v []float64) {
	dim := len(v)
	for i := range dst {
		dst[i] = dot(a[i*dim:(i+1)*dim], v)
	}
}

func dot(a, b []float64) float64 {
	s := 0.0
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

// orthonormalize makes the vectors orthonormal in order (Gram-Schmidt,
// each projection done twice so that cancellation leaves no trace of the
// earlier vectors). A vector with nothing left of it, as for a matrix of
// rank below len(v), is replaced by the first unit axis independent of
// those before it.
func orthonormalize(v [][]float64) {
	for c := range v {
		size := math.Sqrt(dot(v[c], v[c]))
		for axis := 0; ; axis++ {
			for range 2 {
				for _, u := range v[:c] {
					d := dot(v[c], u)
					for j := range v[c] {
						v[c][j] -= d * u[j]
					}
				}
			}
			if norm := math.Sqrt(dot(v[c], v[c])); norm > 1e-9*size && norm > 0 {
				for j := range v[c] {
					v[c][j] /= norm
				}
				break
			}
			// Some axis is independent of c < len(v[c]) orthonormal vectors.
			clear(v[c])
			v[c][axis%len(v[c])], size = 1, 1
		}
	}
}

// Project returns the coordinates of the rows of x (standardised as the
// PCA's) along each component: out[c][i] for component c and row i.
func (p *PCA) Project(x []float32) ([][]float64, error) {
	if len(x)%p.Dim != 0 {
		return nil, errors.New("pca: rows of the wrong width")
	}
	n := len(x) / p.Dim
	out := make([][]float64, len(p.Components))
	for c := range out {
		out[c] = make([]float64, n)
	}
	p.eng.Parallel(n, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			row := x[i*p.Dim : (i+1)*p.Dim]
			for c, comp := range p.Components {
				s := 0.0
				for j, v := range row {
					s += float64((v-p.Mean[j])*p.Scale[j]) * comp[j]
				}
				out[c][i] = s
			}
		}
	})
	return out, nil
}
