// Package linprobe measures how good frozen features are, the standard way
// of self-supervised learning: a linear classifier trained on them (the
// linear probe), and a weighted k-nearest-neighbour vote (see KNN).
//
// The probe follows the linear evaluation protocol of SimCLR: a Linear(D, C)
// layer initialised as PyTorch's nn.Linear, cross-entropy loss, SGD with
// Nesterov momentum 0.9 and no weight decay, batches of 256 reshuffled every
// epoch, 90 epochs, and a learning rate that falls from its initial value to
// 0 along a cosine, step by step:
//
//	lr(t) = LR · (1 + cos(π·t/T)) / 2,  t = 0 … T-1 the step, T the number of steps
//
// Optionally the features are standardised first, with the mean and
// standard deviation of each dimension over the training set (see
// Config.Standardize).
package linprobe

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/simclr-go/simclr/pkg/kern"
	"github.com/simclr-go/simclr/pkg/loss"
)

// Config is the training protocol.
type Config struct {
	Epochs    int
	BatchSize int
	LR        float64 // initial learning rate
	Momentum  float64 // Nesterov momentum
	// Standardize makes every feature dimension zero-mean and unit-variance
	// over the training set (a constant dimension is only centred), which
	// makes one learning rate fit features of any scale.
	Standardize bool
	Seed        uint64 // seeds the initial weights and the shuffles
	// Progress, if set, is called after each epoch (counted from 1) with
	// that epoch's mean training loss.
	Progress func(epoch int, loss float64)
}

// DefaultConfig returns the protocol linprobe uses unless told otherwise.
// The learning rate suits standardised features; it was chosen by
// measurement (see cmd/linprobe).
func DefaultConfig() Config {
	return Config{Epochs: 90, BatchSize: 256, LR: 0.1, Momentum: 0.9, Standardize: true}
}

// Probe is a trained linear classifier: logits = W·x' + B, where x' is x
// standardised when Mean is not nil.
type Probe struct {
	Dim, Classes int
	W            []float32 // [Classes][Dim], as PyTorch's weight
	B            []float32 // [Classes]
	Mean, Scale  []float32 // [Dim]: x' = (x - Mean)·Scale
	Loss         []float64 // mean training loss of each epoch
	eng          *kern.Engine
}

// checkData validates the labelled rows x of width dim.
func checkData(x []float32, y []uint8, dim, classes int) error {
	switch {
	case dim <= 0:
		return fmt.Errorf("feature width %d, want at least 1", dim)
	case classes <= 0:
		return fmt.Errorf("%d classes, want at least 1", classes)
	case len(y) == 0:
		return errors.New("no rows")
	case len(x) != len(y)*dim:
		return fmt.Errorf("%d feature values for %d rows of width %d", len(x), len(y), dim)
	}
	for i, l := range y {
		if int(l) >= classes {
			return fmt.Errorf("row %d: label %d out of range 0-%d", i, l, classes-1)
		}
	}
	return nil
}

// Train fits a probe to the rows of x (row-major, width dim) with labels y
// in [0, classes), computed by eng (which Predict uses too).
func Train(eng *kern.Engine, x []float32, y []uint8, dim, classes int, cfg Config) (*Probe, error) {
	if err := checkData(x, y, dim, classes); err != nil {
		return nil, err
	}
	if cfg.Epochs < 1 || cfg.BatchSize < 1 || !(cfg.LR > 0) || cfg.Momentum < 0 {
		return nil, fmt.Errorf("bad protocol: %d epochs, batch %d, learning rate %g, momentum %g", cfg.Epochs, cfg.BatchSize, cfg.LR, cfg.Momentum)
	}
	n := len(y)
	p := &Probe{Dim: dim, Classes: classes, W: make([]float32, classes*dim), B: make([]float32, classes), eng: eng}
	if cfg.Standardize {
		p.Mean, p.Scale = moments(x, dim)
		x = p.standardize(make([]float32, len(x)), x)
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))
	bound := 1 / math.Sqrt(float64(dim)) // PyTorch's nn.Linear init
	for _, v := range [][]float32{p.W, p.B} {
		for i := range v {
			v[i] = float32((2*rng.Float64() - 1) * bound)
		}
	}

	s := newStepper(p, min(cfg.BatchSize, n), float32(cfg.Momentum))
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	steps := cfg.Epochs * ((n + cfg.BatchSize - 1) / cfg.BatchSize)
	t := 0
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		rng.Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		var loss float64
		for lo := 0; lo < n; lo += cfg.BatchSize {
			rows := perm[lo:min(lo+cfg.BatchSize, n)]
			lr := cfg.LR * (1 + math.Cos(math.Pi*float64(t)/float64(steps))) / 2
			loss += s.step(x, y, rows, float32(lr))
			t++
		}
		loss /= float64(n)
		p.Loss = append(p.Loss, loss)
		if cfg.Progress != nil {
			cfg.Progress(epoch, loss)
		}
	}
	s.done()
	return p, nil
}

// moments returns each dimension's mean and the reciprocal of its standard
// deviation (population), or 1 where the dimension is constant.
func moments(x []float32, dim int) (mean, scale []float32) {
	n := len(x) / dim
	sum := make([]float64, dim)
	for i := range n {
		for j, v := range x[i*dim : (i+1)*dim] {
			sum[j] += float64(v)
		}
	}
	sq := make([]float64, dim)
	for i := range n {
		for j, v := range x[i*dim : (i+1)*dim] {
			d := float64(v) - sum[j]/float64(n)
			sq[j] += d * d
		}
	}
	mean, scale = make([]float32, dim), make([]float32, dim)
	for j := range dim {
		mean[j] = float32(sum[j] / float64(n))
		scale[j] = 1
		if sd := math.Sqrt(sq[j] / float64(n)); sd > minStd {
			scale[j] = float32(1 / sd)
		}
	}
	return mean, scale
}

// minStd is the standard deviation below which a dimension counts as
// constant: dividing by rounding noise would blow up unseen values.
const minStd = 1e-6

// standardize writes the standardised rows of x to dst and returns it.
func (p *Probe) standardize(dst, x []float32) []float32 {
	p.eng.Parallel(len(x)/p.Dim, func(lo, hi int) {
		for i := lo * p.Dim; i < hi*p.Dim; i += p.Dim {
			d, s := dst[i:i+p.Dim], x[i:i+p.Dim]
			for j := range d {
				d[j] = (s[j] - p.Mean[j]) * p.Scale[j]
			}
		}
	})
	return dst
}

// stepper holds the state and buffers of SGD. It keeps the weights
// transposed, [Dim][Classes], so that the batch of features is the left
// operand of both products, which the GEMM reads in place: only the small
// right operands (weights, logit gradients) get packed.
type stepper struct {
	p       *Probe
	mu      float32
	wt, dwt []float32 // [Dim][Classes]: weights and their gradient
	db      []float32
	vw, vb  []float32 // momentum
	xb      []float32 // [batch][Dim], the gathered rows
	z       []float32 // [batch][Classes], logits then their gradient
	labels  []uint8   // [batch], the gathered labels
}

func newStepper(p *Probe, batch int, momentum float32) *stepper {
	s := &stepper{
		p:      p,
		mu:     momentum,
		wt:     make([]float32, len(p.W)),
		dwt:    make([]float32, len(p.W)),
		db:     make([]float32, len(p.B)),
		vw:     make([]float32, len(p.W)),
		vb:     make([]float32, len(p.B)),
		xb:     make([]float32, batch*p.Dim),
		z:      make([]float32, batch*p.Classes),
		labels: make([]uint8, batch),
	}
	transpose(s.wt, p.W, p.Classes, p.Dim)
	return s
}

// done copies the trained weights back to the probe.
func (s *stepper) done() { transpose(s.p.W, s.wt, s.p.Dim, s.p.Classes) }

// transpose writes the transpose of the rows×cols matrix src to dst.
func transpose(dst, src []float32, rows, cols int) {
	for i := range rows {
		for j := range cols {
			dst[j*rows+i] = src[i*cols+j]
		}
	}
}

// step takes one SGD step on the given rows and returns their summed loss.
func (s *stepper) step(x []float32, y []uint8, rows []int, lr float32) float64 {
	p, m, dim, k := s.p, len(rows), s.p.Dim, s.p.Classes
	xb, z := s.xb[:m*dim], s.z[:m*k]
	p.eng.Parallel(m, func(lo, hi int) { gather(xb[lo*dim:hi*dim], x, rows[lo:hi], dim) })
	p.eng.Sgemm(false, false, m, k, dim, 1, xb, dim, s.wt, k, 0, z, k) // z = xb·Wᵀ

	// z becomes the gradient of the batch's mean loss with respect to the logits.
	labels := s.labels[:m]
	for i, r := range rows {
		labels[i] = y[r]
		p.eng.AddTo(z[i*k:(i+1)*k], p.B)
	}
	sum := loss.SoftmaxCrossEntropy(z, labels, k, 1/float32(m))
	p.eng.Sgemm(true, false, dim, k, m, 1, xb, dim, z, k, 0, s.dwt, k) // dWᵀ = xbᵀ·dZ
	clear(s.db)
	for i := range m {
		for c, v := range z[i*k : (i+1)*k] {
			s.db[c] += v
		}
	}
	nesterov(s.wt, s.dwt, s.vw, lr, s.mu)
	nesterov(p.B, s.db, s.vb, lr, s.mu)
	return sum
}

// gather copies the given rows of x to dst. Rows picked at random from a
// large table are latency-bound: copying 16 of them at once, two cache
// lines of each in turn, keeps many fetches in flight and runs about three
// times faster here than copying row after row.
func gather(dst, x []float32, rows []int, dim int) {
	const group, chunk = 16, 32
	for g := 0; g < len(rows); g += group {
		rs := rows[g:min(g+group, len(rows))]
		for c := 0; c < dim; c += chunk {
			e := min(c+chunk, dim)
			for i, r := range rs {
				copy(dst[(g+i)*dim+c:(g+i)*dim+e], x[r*dim+c:r*dim+e])
			}
		}
	}
}

// nesterov applies PyTorch's SGD update with Nesterov momentum and no
// dampening: v = μv + g; w -= lr·(g + μv).
func nesterov(w, g, v []float32, lr, mu float32) {
	for i := range w {
		v[i] = mu*v[i] + g[i]
		w[i] -= lr * (g[i] + mu*v[i])
	}
}

// predictBlock is the number of rows Predict standardises at a time.
const predictBlock = 4096

// Predict returns the class of each row of x.
func (p *Probe) Predict(x []float32) []uint8 {
	n := len(x) / p.Dim
	pred := make([]uint8, n)
	var buf []float32
	if p.Mean != nil {
		buf = make([]float32, min(n, predictBlock)*p.Dim)
	}
	logits := make([]float32, min(n, predictBlock)*p.Classes)
	for lo := 0; lo < n; lo += predictBlock {
		m := min(predictBlock, n-lo)
		xb := x[lo*p.Dim : (lo+m)*p.Dim]
		if p.Mean != nil {
			xb = p.standardize(buf[:len(xb)], xb)
		}
		z := logits[:m*p.Classes]
		for i := range m {
			copy(z[i*p.Classes:(i+1)*p.Classes], p.B)
		}
		p.eng.Sgemm(false, true, m, p.Classes, p.Dim, 1, xb, p.Dim, p.W, p.Dim, 1, z, p.Classes)
		for i := range m {
			pred[lo+i] = uint8(argmax(z[i*p.Classes : (i+1)*p.Classes]))
		}
	}
	return pred
}

// argmax returns the position of the largest value, the first on ties.
func argmax[T float32 | float64](v []T) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}
