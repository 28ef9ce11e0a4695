package model

import (
	"math/rand/v2"

	"github.com/simclr-go/simclr/pkg/kern"
	"github.com/simclr-go/simclr/pkg/nn"
)

// Head is SimCLR's projection g: Linear-BN-ReLU-Linear-BN-ReLU-Linear, named
// as the nn.Sequential "projector" of the reference (indices 0, 1, 3, 4, 6).
// It is trained with the encoder and discarded after pretraining.
type Head struct {
	L1, L2, L3 *nn.Linear
	BN1, BN2   *nn.BatchNorm
	maxN       int
	eng        *kern.Engine

	x              []float32 // the features of the last Forward
	a1, r1, a2, r2 []float32 // linear outputs and relu(bn(...)) per hidden layer
	z              []float32 // projections
	d1, d2         []float32 // backward scratch per hidden width
	dx             []float32 // gradient of the features
}

// NewHead builds the projection from in features through two hidden layers
// of width hidden to out, for batches of up to maxN, computed by eng.
func NewHead(in, hidden, out, maxN int, eng *kern.Engine) *Head {
	dims := nn.Dims{N: maxN, H: 1, W: 1, C: hidden}
	buf := func(w int) []float32 { return make([]float32, maxN*w) }
	return &Head{
		L1: nn.NewLinear("projector.0", in, hidden, eng), BN1: nn.NewBatchNorm("projector.1", dims, eng),
		L2: nn.NewLinear("projector.3", hidden, hidden, eng), BN2: nn.NewBatchNorm("projector.4", dims, eng),
		L3: nn.NewLinear("projector.6", hidden, out, eng), maxN: maxN, eng: eng,
		a1: buf(hidden), r1: buf(hidden), a2: buf(hidden), r2: buf(hidden), z: buf(out),
		d1: buf(hidden), d2: buf(hidden), dx: buf(in),
	}
}

// Init draws the linear layers as nn.Linear's default.
func (h *Head) Init(r *rand.Rand) {
	for _, l := range []*nn.Linear{h.L1, h.L2, h.L3} {
		l.Init(r)
	}
}

func (h *Head) Params() []*nn.Param {
	var ps []*nn.Param
	ps = append(ps, h.L1.Params()...)
	ps = append(ps, h.BN1.Params()...)
	ps = append(ps, h.L2.Params()...)
	ps = append(ps, h.BN2.Params()...)
	return append(ps, h.L3.Params()...)
}

func (h *Head) Buffers() []*nn.Tensor {
	return append(h.BN1.Buffers(), h.BN2.Buffers()...)
}

func (h *Head) Counters() []*nn.Counter {
	return append(h.BN1.Counters(), h.BN2.Counters()...)
}

func (h *Head) SetTrain(train bool) { h.BN1.Train, h.BN2.Train = train, train }

// Forward projects n feature rows x ([n][in]) to z ([n][out]), valid until
// the next Forward.
func (h *Head) Forward(x []float32, n int) []float32 {
	h.x = x
	h.L1.Forward(h.a1, x, n)
	h.BN1.ForwardReLU(h.r1, h.a1, n)
	h.L2.Forward(h.a2, h.r1, n)
	h.BN2.ForwardReLU(h.r2, h.a2, n)
	h.L3.Forward(h.z, h.r2, n)
	return h.z[:n*h.L3.Out]
}

// Backward adds the head's gradients given dz and returns the gradient of
// its input features ([n][in]), valid until the next Backward.
func (h *Head) Backward(dz []float32, n int) []float32 {
	hid := h.L1.Out
	h.L3.Backward(h.d2, dz, h.r2, n)
	nn.ReLUBackward(h.eng, h.d2[:n*hid], h.d2, h.r2)
	h.BN2.Backward(h.d2, h.d2, h.a2, n)
	h.L2.Backward(h.d1, h.d2, h.r1, n)
	nn.ReLUBackward(h.eng, h.d1[:n*hid], h.d1, h.r1)
	h.BN1.Backward(h.d1, h.d1, h.a1, n)
	h.L1.Backward(h.dx, h.d1, h.x, n)
	return h.dx[:n*h.L1.In]
}

// BatchNorms lists the batch norms, for setting their Group.
func (h *Head) BatchNorms() []*nn.BatchNorm { return []*nn.BatchNorm{h.BN1, h.BN2} }
