// Package optim updates nn parameters from their gradients: Adam, SGD with
// momentum (optionally Nesterov) and LARS, as PyTorch and the SimCLR paper
// define them, plus the warmup-cosine learning-rate schedule.
package optim

import (
	"fmt"
	"math"

	"github.com/simclr-go/simclr/pkg/kern"
	"github.com/simclr-go/simclr/pkg/nn"
)

// Optimizer applies one update with learning rate lr to the parameters it
// was built over, and exposes its state for checkpoints.
type Optimizer interface {
	Step(lr float32)
	// State is every buffer the optimizer keeps, named after its parameter;
	// restoring their Data (and Steps) resumes exactly.
	State() []*nn.Tensor
	// Steps counts the updates taken (Adam's bias correction needs it).
	Steps() *int64
}

// New builds the optimizer named by kind, "adam", "sgd" or "lars", whose
// updates eng splits over its cores.
func New(kind string, params []*nn.Param, momentum, weightDecay float32, eng *kern.Engine) (Optimizer, error) {
	switch kind {
	case "adam":
		return NewAdam(params, weightDecay, eng), nil
	case "sgd":
		return NewSGD(params, momentum, weightDecay, false, eng), nil
	case "lars":
		return NewLARS(params, momentum, weightDecay, eng), nil
	}
	return nil, fmt.Errorf("optim: unknown optimizer %q (want adam, sgd or lars)", kind)
}

// buffers makes one zeroed state tensor per parameter, named prefix+name.
func buffers(params []*nn.Param, prefix string) []*nn.Tensor {
	out := make([]*nn.Tensor, len(params))
	for i, p := range params {
		out[i] = &nn.Tensor{Name: prefix + p.Name, Shape: p.Shape, Data: make([]float32, len(p.Data))}
	}
	return out
}

// each runs t over the n values of a parameter, in parallel chunks when
// there are enough. Each optimizer keeps its t as a field: a closure or a
// local task would escape to the workers and allocate on every step.
func each(eng *kern.Engine, n int, t kern.Task) {
	if n < 1<<15 {
		t.Run(0, n)
		return
	}
	eng.ParallelTask(n, t)
}

// Adam is torch.optim.Adam: betas 0.9/0.999, eps 1e-8, and weight decay as
// an L2 term added to the gradient.
type Adam struct {
	Beta1, Beta2, Eps, WeightDecay float32
	params                         []*nn.Param
	m, v                           []*nn.Tensor
	t                              int64
	update                         adamUpdate
	eng                            *kern.Engine
}

func NewAdam(params []*nn.Param, weightDecay float32, eng *kern.Engine) *Adam {
	return &Adam{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: weightDecay, params: params, eng: eng,
		m: buffers(params, "optim.exp_avg."), v: buffers(params, "optim.exp_avg_sq.")}
}

func (a *Adam) Step(lr float32) {
	a.t++
	bc1 := 1 - math.Pow(float64(a.Beta1), float64(a.t))
	bc2 := 1 - math.Pow(float64(a.Beta2), float64(a.t))
	stepSize := lr / float32(bc1)
	rbc2 := float32(1 / math.Sqrt(bc2))
	for i, p := range a.params {
		a.update = adamUpdate{a: a, p: p, m: a.m[i].Data, v: a.v[i].Data, stepSize: stepSize, rbc2: rbc2}
		each(a.eng, len(p.Data), &a.update)
	}
	a.update = adamUpdate{}
}

// adamUpdate is Adam's step on one parameter.
type adamUpdate struct {
	a              *Adam
	p              *nn.Param
	m, v           []float32
	stepSize, rbc2 float32
}

func (u *adamUpdate) Run(lo, hi int) {
	a, p, m, v := u.a, u.p, u.m, u.v
	for j := lo; j < hi; j++ {
		g := p.Grad[j] + a.WeightDecay*p.Data[j]
		m[j] = a.Beta1*m[j] + (1-a.Beta1)*g
		v[j] = a.Beta2*v[j] + (1-a.Beta2)*g*g
		p.Data[j] -= u.stepSize * m[j] / (float32(math.Sqrt(float64(v[j])))*u.rbc2 + a.Eps)
	}
}

func (a *Adam) State() []*nn.Tensor { return append(append([]*nn.Tensor{}, a.m...), a.v...) }
func (a *Adam) Steps() *int64       { return &a.t }

// SGD is torch.optim.SGD with momentum (dampening 0), L2 weight decay and
// optional Nesterov momentum.
type SGD struct {
	Momentum, WeightDecay float32
	Nesterov              bool
	params                []*nn.Param
	buf                   []*nn.Tensor
	t                     int64
	update                sgdUpdate
	eng                   *kern.Engine
}

func NewSGD(params []*nn.Param, momentum, weightDecay float32, nesterov bool, eng *kern.Engine) *SGD {
	return &SGD{Momentum: momentum, WeightDecay: weightDecay, Nesterov: nesterov, params: params, eng: eng,
		buf: buffers(params, "optim.momentum_buffer.")}
}

func (s *SGD) Step(lr float32) {
	s.t++
	for i, p := range s.params {
		s.update = sgdUpdate{s: s, p: p, buf: s.buf[i].Data, lr: lr}
		each(s.eng, len(p.Data), &s.update)
	}
	s.update = sgdUpdate{}
}

// sgdUpdate is SGD's step on one parameter.
type sgdUpdate struct {
	s   *SGD
	p   *nn.Param
	buf []float32
	lr  float32
}

func (u *sgdUpdate) Run(lo, hi int) {
	s, p, buf, lr := u.s, u.p, u.buf, u.lr
	first := s.t == 1
	for j := lo; j < hi; j++ {
		g := p.Grad[j] + s.WeightDecay*p.Data[j]
		// PyTorch starts the buffer at the first gradient.
		if first {
			buf[j] = g
		} else {
			buf[j] = s.Momentum*buf[j] + g
		}
		if s.Nesterov {
			g += s.Momentum * buf[j]
		} else {
			g = buf[j]
		}
		p.Data[j] -= lr * g
	}
}

func (s *SGD) State() []*nn.Tensor { return s.buf }
func (s *SGD) Steps() *int64       { return &s.t }

// LARS is SGD with momentum whose step for each weight tensor is scaled by
// the trust ratio η‖w‖/‖g + λw‖ (You et al. 2017, as the SimCLR paper uses
// it). Biases and BatchNorm parameters (the 1-d tensors) get neither the
// adaptation nor weight decay.
type LARS struct {
	Momentum, WeightDecay, Eta float32
	params                     []*nn.Param
	buf                        []*nn.Tensor
	t                          int64
	update                     larsUpdate
	eng                        *kern.Engine
}

func NewLARS(params []*nn.Param, momentum, weightDecay float32, eng *kern.Engine) *LARS {
	return &LARS{Momentum: momentum, WeightDecay: weightDecay, Eta: 0.001, params: params, eng: eng,
		buf: buffers(params, "optim.momentum_buffer.")}
}

func (l *LARS) Step(lr float32) {
	l.t++
	for i, p := range l.params {
		wd, trust := l.WeightDecay, float32(1)
		if len(p.Shape) <= 1 {
			wd = 0
		} else {
			var ww, gg float64
			for j, w := range p.Data {
				g := float64(p.Grad[j] + wd*w)
				ww += float64(w) * float64(w)
				gg += g * g
			}
			if ww > 0 && gg > 0 {
				trust = l.Eta * float32(math.Sqrt(ww)/math.Sqrt(gg))
			}
		}
		l.update = larsUpdate{l: l, p: p, buf: l.buf[i].Data, lr: lr, wd: wd, trust: trust}
		each(l.eng, len(p.Data), &l.update)
	}
	l.update = larsUpdate{}
}

// larsUpdate is LARS's step on one parameter, with its weight decay and
// trust ratio.
type larsUpdate struct {
	l             *LARS
	p             *nn.Param
	buf           []float32
	lr, wd, trust float32
}

func (u *larsUpdate) Run(lo, hi int) {
	l, p, buf, lr, wd, trust := u.l, u.p, u.buf, u.lr, u.wd, u.trust
	for j := lo; j < hi; j++ {
		buf[j] = l.Momentum*buf[j] + trust*(p.Grad[j]+wd*p.Data[j])
		p.Data[j] -= lr * buf[j]
	}
}

func (l *LARS) State() []*nn.Tensor { return l.buf }
func (l *LARS) Steps() *int64       { return &l.t }

// WarmupCosine is the learning rate at step (0-based) of total: a linear
// ramp to base over warmup steps, then a cosine decay to zero.
func WarmupCosine(base float32, step, warmup, total int) float32 {
	if step < warmup {
		return base * float32(step+1) / float32(warmup)
	}
	if total <= warmup {
		return base
	}
	progress := float64(step-warmup) / float64(total-warmup)
	return base * float32(0.5*(1+math.Cos(math.Pi*min(progress, 1))))
}
