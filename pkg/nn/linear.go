package nn

import (
	"math"
	"math/rand/v2"

	"github.com/simclr-go/simclr/pkg/kern"
)

// Linear is a fully connected layer y = x W^T + b, weight [Out][In] as PyTorch.
type Linear struct {
	Weight  *Param // [Out][In]
	Bias    *Param // [Out]
	In, Out int
	eng     *kern.Engine
}

// NewLinear builds a layer from in to out features, computed by eng in its
// linear layers' precision, zero until initialised or loaded. It keeps no
// activations, so it needs no batch capacity.
func NewLinear(name string, in, out int, eng *kern.Engine) *Linear {
	return &Linear{
		Weight: newParam(join(name, "weight"), out, in),
		Bias:   newParam(join(name, "bias"), out),
		In:     in,
		Out:    out,
		eng:    eng,
	}
}

// Params returns weight and bias.
func (l *Linear) Params() []*Param { return []*Param{l.Weight, l.Bias} }

// Init fills weight and bias as PyTorch's default: uniform in ±1/sqrt(In).
func (l *Linear) Init(r *rand.Rand) {
	bound := 1 / math.Sqrt(float64(l.In))
	for _, p := range l.Params() {
		for i := range p.Data {
			p.Data[i] = float32((2*r.Float64() - 1) * bound)
		}
	}
}

// Forward computes y = x W^T + b.
//
//	y: [n][Out]
//	x: [n][In]
func (l *Linear) Forward(y, x []float32, n int) {
	x = need("linear input", x, n*l.In)
	y = need("linear output", y, n*l.Out)
	for i := range n {
		copy(y[i*l.Out:(i+1)*l.Out], l.Bias.Data)
	}
	l.eng.SgemmIn(l.eng.Policy().Linear, false, true, n, l.Out, l.In, 1, x, l.In, l.Weight.Data, l.In, 1, y, l.Out)
}

// Backward adds dW += dy^T x and db += column sums of dy, and unless dx is
// nil writes dx = dy W.
//
//	dx: [n][In] or nil
//	dy: [n][Out]
//	x:  [n][In], the input of Forward
func (l *Linear) Backward(dx, dy, x []float32, n int) {
	x = need("linear input", x, n*l.In)
	dy = need("linear output gradient", dy, n*l.Out)
	l.eng.Sgemm(true, false, l.Out, l.In, n, 1, dy, l.Out, x, l.In, 1, l.Weight.Grad, l.In)
	for i := range n {
		l.eng.AddTo(l.Bias.Grad, dy[i*l.Out:(i+1)*l.Out])
	}
	if dx != nil {
		dx = need("linear input gradient", dx, n*l.In)
		l.eng.SgemmIn(l.eng.Policy().Linear, false, false, n, l.In, l.Out, 1, dy, l.Out, l.Weight.Data, l.In, 0, dx, l.In)
	}
}
