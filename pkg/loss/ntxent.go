// Package loss holds SimCLR's NT-Xent objective with its gradient.
package loss

import (
	"fmt"
	"math"

	"github.com/simclr-go/simclr/pkg/kern"
)

// NTXent is the normalised temperature-scaled cross-entropy of SimCLR over
// 2N views: rows i and i+N of the batch are the two views of image i. Each
// view's positive is its sibling and the other 2(N-1) views are its
// negatives; self-similarity is masked out. It owns its scratch, sized for
// at most maxViews rows of width dim.
type NTXent struct {
	Tau      float32
	eng      *kern.Engine
	dim      int
	zn       []float32 // [2N, dim] L2-normalised rows
	norm     []float32 // [2N] row norms (clamped as F.normalize does)
	sim      []float32 // [2N, 2N] similarities, then softmax, then its gradient
	dzn      []float32 // [2N, dim]
	maxViews int
}

// normEps is F.normalize's default lower bound on a norm.
const normEps = 1e-12

// NewNTXent makes the loss for batches of up to maxViews views of width
// dim, computed by eng in its loss precision.
func NewNTXent(tau float32, maxViews, dim int, eng *kern.Engine) *NTXent {
	return &NTXent{
		Tau: tau, eng: eng, dim: dim, maxViews: maxViews,
		zn:   make([]float32, maxViews*dim),
		norm: make([]float32, maxViews),
		sim:  make([]float32, maxViews*maxViews),
		dzn:  make([]float32, maxViews*dim),
	}
}

// Forward returns the mean loss over the views of z ([views, dim], views even)
// and keeps what Backward needs.
func (l *NTXent) Forward(z []float32, views int) float32 {
	if views%2 != 0 || views < 4 || views > l.maxViews {
		panic(fmt.Sprintf("loss: NT-Xent needs an even number of views in [4, %d], got %d", l.maxViews, views))
	}
	d := l.dim
	z = z[:views*d]
	for i := 0; i < views; i++ {
		row := z[i*d : i*d+d]
		var ss float64
		for _, v := range row {
			ss += float64(v) * float64(v)
		}
		nrm := float32(max(math.Sqrt(ss), normEps))
		l.norm[i] = nrm
		out := l.zn[i*d : i*d+d]
		for j, v := range row {
			out[j] = v / nrm
		}
	}
	sim := l.sim[:views*views]
	l.eng.SgemmIn(l.eng.Policy().Loss, false, true, views, views, d, 1/l.Tau, l.zn, d, l.zn, d, 0, sim, views)
	// Each row becomes its softmax over j != i; the loss is the log-sum-exp
	// minus the positive's logit, computed around the row maximum.
	var total float64
	half := views / 2
	for i := 0; i < views; i++ {
		row := sim[i*views : i*views+views]
		row[i] = float32(math.Inf(-1))
		mx := float32(math.Inf(-1))
		for _, v := range row {
			mx = max(mx, v)
		}
		var sum float64
		for _, v := range row {
			sum += math.Exp(float64(v - mx))
		}
		pos := (i + half) % views
		total += math.Log(sum) + float64(mx) - float64(row[pos])
		for j, v := range row {
			row[j] = float32(math.Exp(float64(v-mx)) / sum)
		}
	}
	return float32(total / float64(views))
}

// Backward writes dz ([views, dim]), the gradient of the mean loss scaled by
// dloss, for the batch of the last Forward.
func (l *NTXent) Backward(dz []float32, views int, dloss float32) {
	d := l.dim
	sim := l.sim[:views*views]
	half := views / 2
	// dL/dsim = (softmax - onehot(positive)) / views, zero on the diagonal.
	scale := dloss / float32(views)
	for i := 0; i < views; i++ {
		row := sim[i*views : i*views+views]
		row[(i+half)%views]--
		for j := range row {
			row[j] *= scale
		}
		row[i] = 0
	}
	// sim = zn·znᵀ/τ, so dzn = (G + Gᵀ)·zn/τ; two GEMMs avoid forming G + Gᵀ.
	dzn := l.dzn[:views*d]
	l.eng.SgemmIn(l.eng.Policy().Loss, false, false, views, d, views, 1/l.Tau, sim, views, l.zn, d, 0, dzn, d)
	l.eng.SgemmIn(l.eng.Policy().Loss, true, false, views, d, views, 1/l.Tau, sim, views, l.zn, d, 1, dzn, d)
	// Through the normalisation: dz = (dzn - zn(zn·dzn)) / ‖z‖.
	for i := 0; i < views; i++ {
		zr, g, out := l.zn[i*d:i*d+d], dzn[i*d:i*d+d], dz[i*d:i*d+d]
		var dot float64
		for j := range zr {
			dot += float64(zr[j]) * float64(g[j])
		}
		inv := 1 / l.norm[i]
		if l.norm[i] == normEps {
			// Below the clamp, normalize is z/eps: a plain scaling.
			for j := range out {
				out[j] = g[j] * inv
			}
			continue
		}
		for j := range out {
			out[j] = (g[j] - zr[j]*float32(dot)) * inv
		}
	}
}
