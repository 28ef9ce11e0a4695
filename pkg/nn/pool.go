package nn

import (
	"fmt"
	"math"
)

// MaxPool2d takes the maximum over each window of each channel, padding with
// -inf, as PyTorch's MaxPool2d (floor mode); the ResNet stem uses K=3, stride
// 2, pad 1. Ties go to the first maximum in (kh, kw) order, as PyTorch.
type MaxPool2d struct {
	In, Out Dims
	Win     Window
	argmax  []int32 // [N][OutH][OutW][C], offset of the max within its input image
}

// NewMaxPool2d builds a max pool for up to in.N images of in.H×in.W×in.C.
func NewMaxPool2d(in Dims, win Window) *MaxPool2d {
	// PyTorch's rule: a window never lies wholly in the padding.
	if win.K < 1 || win.Stride < 1 || win.Pad < 0 || 2*win.Pad > win.K || win.out(in.H) < 1 || win.out(in.W) < 1 {
		panic(fmt.Sprintf("nn: max pool window %+v does not fit %+v", win, in))
	}
	out := Dims{N: in.N, H: win.out(in.H), W: win.out(in.W), C: in.C}
	return &MaxPool2d{In: in, Out: out, Win: win, argmax: make([]int32, in.N*out.Image())}
}

// Forward writes the window maxima to y and remembers where they came from.
//
//	y: [n][OutH][OutW][C]
//	x: [n][H][W][C]
func (p *MaxPool2d) Forward(y, x []float32, n int) {
	checkBatch(n, p.In.N)
	in, out, win := p.In, p.Out, p.Win
	x = need("max pool input", x, n*in.Image())
	y = need("max pool output", y, n*out.Image())
	parallel(n*out.H, len(y)*win.K*win.K, func(lo, hi int) {
		for r := lo; r < hi; r++ { // r: (image, output row)
			img, oh := r/out.H, r%out.H
			xi := x[img*in.Image() : (img+1)*in.Image()]
			for ow := 0; ow < out.W; ow++ {
				o := (r*out.W + ow) * in.C
				best, arg := y[o:o+in.C], p.argmax[o:o+in.C]
				for j := range best {
					best[j] = float32(math.Inf(-1))
				}
				for kh := 0; kh < win.K; kh++ {
					ih := oh*win.Stride - win.Pad + kh
					if ih < 0 || ih >= in.H {
						continue
					}
					for kw := 0; kw < win.K; kw++ {
						iw := ow*win.Stride - win.Pad + kw
						if iw < 0 || iw >= in.W {
							continue
						}
						at := (ih*in.W + iw) * in.C
						for j, v := range xi[at : at+in.C] {
							if v > best[j] {
								best[j], arg[j] = v, int32(at+j)
							}
						}
					}
				}
			}
		}
	})
}

// Backward routes each output gradient to the input that was the maximum,
// overwriting dx.
//
//	dx: [n][H][W][C]
//	dy: [n][OutH][OutW][C]
func (p *MaxPool2d) Backward(dx, dy []float32, n int) {
	checkBatch(n, p.In.N)
	in, out := p.In.Image(), p.Out.Image()
	dx = need("max pool input gradient", dx, n*in)
	dy = need("max pool output gradient", dy, n*out)
	// Windows overlap, so split over images: each image's scatter stays on one thread.
	parallel(n, len(dx)+len(dy), func(lo, hi int) {
		for img := lo; img < hi; img++ {
			dxi := dx[img*in : (img+1)*in]
			clear(dxi)
			for o, g := range dy[img*out : (img+1)*out] {
				dxi[p.argmax[img*out+o]] += g
			}
		}
	})
}

// AvgPoolForward averages each channel over the hw pixels of an image: the
// global average pool before the ResNet head.
//
//	y: [n][c]
//	x: [n][hw][c]
func AvgPoolForward(y, x []float32, n, hw, c int) {
	x = need("avg pool input", x, n*hw*c)
	y = need("avg pool output", y, n*c)
	scale := 1 / float32(hw)
	parallel(n, len(x), func(lo, hi int) {
		for img := lo; img < hi; img++ {
			yi := y[img*c : (img+1)*c]
			clear(yi)
			for p := range hw {
				addTo(yi, x[(img*hw+p)*c:][:c])
			}
			for j := range yi {
				yi[j] *= scale
			}
		}
	})
}

// AvgPoolBackward spreads each gradient evenly over the pixels it averaged,
// overwriting dx.
//
//	dx: [n][hw][c]
//	dy: [n][c]
func AvgPoolBackward(dx, dy []float32, n, hw, c int) {
	dx = need("avg pool input gradient", dx, n*hw*c)
	dy = need("avg pool output gradient", dy, n*c)
	scale := 1 / float32(hw)
	parallel(n, len(dx), func(lo, hi int) {
		for img := lo; img < hi; img++ {
			for p := range hw {
				dst := dx[(img*hw+p)*c:][:c]
				for j, g := range dy[img*c : (img+1)*c] {
					dst[j] = g * scale
				}
			}
		}
	})
}
