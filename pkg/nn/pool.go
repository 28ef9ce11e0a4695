package nn

import (
	"fmt"

	"github.com/simclr-go/simclr/pkg/kern"
)

// MaxPool2d takes the maximum over each window of each channel, padding with
// -inf, as PyTorch's MaxPool2d (floor mode); the ResNet stem uses K=3, stride
// 2, pad 1. The gradient goes to the first maximum in (kh, kw) order, as in
// PyTorch.
type MaxPool2d struct {
	In, Out Dims
	Win     Window
	eng     *kern.Engine

	fwd maxPoolForward
	bwd maxPoolBackward
	rem []float32 // [N][C], per image (so per thread): a window's maxima whose gradient is not yet given
}

// NewMaxPool2d builds a max pool for up to in.N images of in.H×in.W×in.C.
func NewMaxPool2d(in Dims, win Window, eng *kern.Engine) *MaxPool2d {
	// PyTorch's rule: a window never lies wholly in the padding.
	if win.K < 1 || win.Stride < 1 || win.Pad < 0 || 2*win.Pad > win.K || win.out(in.H) < 1 || win.out(in.W) < 1 {
		panic(fmt.Sprintf("nn: max pool window %+v does not fit %+v", win, in))
	}
	out := Dims{N: in.N, H: win.out(in.H), W: win.out(in.W), C: in.C}
	return &MaxPool2d{In: in, Out: out, Win: win, eng: eng, rem: make([]float32, in.N*in.C)}
}

// window calls fn with the offset of each input pixel (within its image) of
// output pixel (oh, ow)'s window, in (kh, kw) order.
func (p *MaxPool2d) window(oh, ow int, fn func(at int)) {
	in, win := p.In, p.Win
	for kh := 0; kh < win.K; kh++ {
		ih := oh*win.Stride - win.Pad + kh
		if ih < 0 || ih >= in.H {
			continue
		}
		for kw := 0; kw < win.K; kw++ {
			iw := ow*win.Stride - win.Pad + kw
			if iw >= 0 && iw < in.W {
				fn((ih*in.W + iw) * in.C)
			}
		}
	}
}

// Forward writes the window maxima to y, a channel vector at a time.
//
//	y: [n][OutH][OutW][C]
//	x: [n][H][W][C]
func (p *MaxPool2d) Forward(y, x []float32, n int) {
	checkBatch(n, p.In.N)
	x = need("max pool input", x, n*p.In.Image())
	y = need("max pool output", y, n*p.Out.Image())
	p.fwd = maxPoolForward{p: p, y: y, x: x}
	parallel(p.eng, n*p.Out.H, len(y)*p.Win.K*p.Win.K, &p.fwd)
	p.fwd = maxPoolForward{}
}

type maxPoolForward struct {
	p    *MaxPool2d
	y, x []float32
}

func (t *maxPoolForward) Run(lo, hi int) {
	p, y, x := t.p, t.y, t.x
	in, out, c := p.In, p.Out, p.In.C
	for r := lo; r < hi; r++ { // r: (image, output row)
		img, oh := r/out.H, r%out.H
		xi := x[img*in.Image() : (img+1)*in.Image()]
		for ow := 0; ow < out.W; ow++ {
			best, first := y[(r*out.W+ow)*c:][:c], true
			p.window(oh, ow, func(at int) {
				if first {
					copy(best, xi[at:at+c])
					first = false
					return
				}
				p.eng.MaxTo(best, xi[at:at+c])
			})
		}
	}
}

// Backward routes each output gradient to the first input of its window
// that equals the maximum, overwriting dx.
//
//	dx: [n][H][W][C]
//	dy: [n][OutH][OutW][C]
//	x:  [n][H][W][C], the input of Forward
//	y:  [n][OutH][OutW][C], the output of Forward
func (p *MaxPool2d) Backward(dx, dy, x, y []float32, n int) {
	checkBatch(n, p.In.N)
	dx = need("max pool input gradient", dx, n*p.In.Image())
	dy = need("max pool output gradient", dy, n*p.Out.Image())
	x = need("max pool input", x, n*p.In.Image())
	y = need("max pool output", y, n*p.Out.Image())
	// Windows overlap, so split over images: each image's scatter stays on one thread.
	p.bwd = maxPoolBackward{p: p, dx: dx, dy: dy, x: x, y: y}
	parallel(p.eng, n, len(dx)+len(dy)*p.Win.K*p.Win.K, &p.bwd)
	p.bwd = maxPoolBackward{}
}

type maxPoolBackward struct {
	p            *MaxPool2d
	dx, dy, x, y []float32
}

func (t *maxPoolBackward) Run(lo, hi int) {
	p, dx, dy, x, y := t.p, t.dx, t.dy, t.x, t.y
	in, out, c := p.In, p.Out, p.In.C
	for img := lo; img < hi; img++ {
		xi, dxi := x[img*in.Image():(img+1)*in.Image()], dx[img*in.Image():(img+1)*in.Image()]
		rem := p.rem[img*c : (img+1)*c]
		clear(dxi)
		for o := 0; o < out.H*out.W; o++ {
			at := (img*out.H*out.W + o) * c
			copy(rem, y[at:at+c])
			p.window(o/out.W, o%out.W, func(a int) { p.eng.RouteMax(dxi[a:a+c], xi[a:a+c], rem, dy[at:at+c]) })
		}
	}
}

// AvgPoolForward averages each channel over the hw pixels of an image: the
// global average pool before the ResNet head.
//
//	y: [n][c]
//	x: [n][hw][c]
func AvgPoolForward(e *kern.Engine, y, x []float32, n, hw, c int) {
	x = need("avg pool input", x, n*hw*c)
	y = need("avg pool output", y, n*c)
	parallelPooled(&avgPoolTasks, e, n, len(x), avgPool{e: e, pooled: y, pixels: x, hw: hw, c: c})
}

// AvgPoolBackward spreads each gradient evenly over the pixels it averaged,
// overwriting dx.
//
//	dx: [n][hw][c]
//	dy: [n][c]
func AvgPoolBackward(e *kern.Engine, dx, dy []float32, n, hw, c int) {
	dx = need("avg pool input gradient", dx, n*hw*c)
	dy = need("avg pool output gradient", dy, n*c)
	parallelPooled(&avgPoolTasks, e, n, len(dx), avgPool{e: e, pooled: dy, pixels: dx, hw: hw, c: c, backward: true})
}

var avgPoolTasks kern.FreeList[avgPool]

// avgPool is AvgPoolForward (pixels to pooled) or AvgPoolBackward (pooled
// to pixels) over images [lo, hi).
type avgPool struct {
	e              *kern.Engine
	pooled, pixels []float32 // [n][c], [n][hw][c]
	hw, c          int
	backward       bool
}

func (t *avgPool) Run(lo, hi int) {
	hw, c := t.hw, t.c
	scale := 1 / float32(hw)
	for img := lo; img < hi; img++ {
		pooled := t.pooled[img*c : (img+1)*c]
		if t.backward {
			for p := range hw {
				dst := t.pixels[(img*hw+p)*c:][:c]
				for j, g := range pooled {
					dst[j] = g * scale
				}
			}
			continue
		}
		clear(pooled)
		for p := range hw {
			t.e.AddTo(pooled, t.pixels[(img*hw+p)*c:][:c])
		}
		for j := range pooled {
			pooled[j] *= scale
		}
	}
}
