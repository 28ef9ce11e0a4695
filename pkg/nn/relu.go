package nn

import (
	"math"

	"github.com/simclr-go/simclr/pkg/kern"
)

// The ReLU loops test signs on the float bits: branches on the sign of
// activations mispredict half the time and cost several times the loop.

// ReLUForward writes y = max(x, 0). y may alias x.
//
//	y: any shape
//	x: same as y
func ReLUForward(e *kern.Engine, y, x []float32) {
	x = need("relu input", x, len(y))
	parallelPooled(&reluForwardTasks, e, len(y), len(y), reluForward{y: y, x: x})
}

var reluForwardTasks kern.FreeList[reluForward]

type reluForward struct{ y, x []float32 }

func (t *reluForward) Run(lo, hi int) {
	yr := t.y[lo:hi]
	for i, v := range t.x[lo:hi] {
		b := math.Float32bits(v)
		yr[i] = math.Float32frombits(b &^ uint32(int32(b)>>31)) // 0 if the sign bit is set
	}
}

// ReLUBackward writes dx = dy where the forward output y is positive, else 0.
// It reads the output rather than the input so that forward can run in
// place. dx may alias dy.
//
//	dx: any shape
//	dy: same as dx
//	y:  same as dx, the output of ReLUForward
func ReLUBackward(e *kern.Engine, dx, dy, y []float32) {
	dy = need("relu output gradient", dy, len(dx))
	y = need("relu output", y, len(dx))
	parallelPooled(&reluBackwardTasks, e, len(dx), len(dx), reluBackward{e: e, dx: dx, dy: dy, y: y})
}

var reluBackwardTasks kern.FreeList[reluBackward]

type reluBackward struct {
	e         *kern.Engine
	dx, dy, y []float32
}

func (t *reluBackward) Run(lo, hi int) { t.e.ReLUMask(t.dx[lo:hi], t.dy[lo:hi], t.y[lo:hi]) }

// AddForward writes the residual sum y = a + b; y may alias a or b. Its
// backward is the identity: both a and b receive dy unchanged, so there is no
// AddBackward.
//
//	y: any shape
//	a: same as y
//	b: same as y
func AddForward(e *kern.Engine, y, a, b []float32) {
	a = need("add input", a, len(y))
	b = need("add input", b, len(y))
	parallelPooled(&addTasks, e, len(y), len(y), addForward{y: y, a: a, b: b})
}

var addTasks kern.FreeList[addForward]

type addForward struct{ y, a, b []float32 }

func (t *addForward) Run(lo, hi int) {
	yr, br := t.y[lo:hi], t.b[lo:hi]
	for i, v := range t.a[lo:hi] {
		yr[i] = v + br[i]
	}
}
