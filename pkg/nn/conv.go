package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/simclr-go/simclr/pkg/kern"
)

// colsBudget bounds the im2col scratch of one convolution, in values (8 MiB):
// the batch is lowered a chunk of images at a time, and backward lowers it
// again rather than keeping a batch-sized copy (1.2 GB for the CIFAR stem's
// first stage at batch 512).
const colsBudget = 2 << 20

// Conv2d is a 2-d convolution without bias over NHWC activations. Its weight
// is stored OHWI, [Cout][K][K][Cin], so that an im2col row of K*K*Cin values
// meets a contiguous weight row; WeightFromOIHW and WeightToOIHW convert from
// and to PyTorch's layout.
type Conv2d struct {
	Weight  *Param // [Cout][K][K][Cin]
	In, Out Dims
	Win     Window
	k       int       // K*K*Cin: the length of an im2col row
	chunk   int       // images lowered per im2col pass
	cols    []float32 // [chunk*OutH*OutW][k]; nil when x is its own im2col
	cols16  []uint32  // [chunk*OutH*OutW][k16], bf16 mode's forward lowering, made on first use
	dwT     []float32 // [k][Cout], the weight gradient as the GEMM leaves it, made on first use
	rows    sync.Pool // *[]float32 of k: im2colBF16's row buffers, one per worker
}

// NewConv2d builds a convolution from in.C to cout channels for batches of up
// to in.N images of in.H×in.W. Its weight is zero until initialised or loaded.
func NewConv2d(name string, in Dims, cout int, win Window) *Conv2d {
	if win.K < 1 || win.Stride < 1 || win.Pad < 0 || win.out(in.H) < 1 || win.out(in.W) < 1 {
		panic(fmt.Sprintf("nn: conv %s: window %+v does not fit %+v", name, win, in))
	}
	c := &Conv2d{
		Weight: newParam(join(name, "weight"), cout, win.K, win.K, in.C),
		In:     in,
		Out:    Dims{N: in.N, H: win.out(in.H), W: win.out(in.W), C: cout},
		Win:    win,
		k:      win.K * win.K * in.C,
	}
	if !c.pointwise() {
		rows := c.Out.H * c.Out.W
		c.chunk = max(1, min(in.N, colsBudget/(rows*c.k)))
		c.cols = make([]float32, c.chunk*rows*c.k)
	}
	return c
}

// pointwise reports whether the input is already its own im2col matrix
// [N*H*W][Cin], as for a 1×1 stride-1 convolution.
func (c *Conv2d) pointwise() bool { return c.Win == Window{K: 1, Stride: 1} }

// Params returns the weight.
func (c *Conv2d) Params() []*Param { return []*Param{c.Weight} }

// InitKaiming fills the weight as torchvision's ResNet does: normal with
// std sqrt(2/fan_out), fan_out = Cout*K*K.
func (c *Conv2d) InitKaiming(r *rand.Rand) {
	std := math.Sqrt(2 / float64(c.Out.C*c.Win.K*c.Win.K))
	for i := range c.Weight.Data {
		c.Weight.Data[i] = float32(r.NormFloat64() * std)
	}
}

// Forward computes y = conv(x), as out[M][Cout] = cols[M][K] × W^T per chunk.
//
//	y: [n][OutH][OutW][Cout]
//	x: [n][H][W][Cin]
func (c *Conv2d) Forward(y, x []float32, n int) {
	checkBatch(n, c.In.N)
	x = need("conv input", x, n*c.In.Image())
	y = need("conv output", y, n*c.Out.Image())
	w, cout := c.Weight.Data, c.Out.C
	if c.pointwise() {
		kern.Sgemm(false, true, n*c.In.H*c.In.W, cout, c.k, 1, x, c.k, w, c.k, 0, y, cout)
		return
	}
	for i0 := 0; i0 < n; i0 += c.chunk {
		nb := min(c.chunk, n-i0)
		yc := y[i0*c.Out.Image():]
		if kern.BF16() {
			// Lowering straight to bf16 halves the bytes written and read, and
			// spares the GEMM converting them.
			cols := c.im2colBF16(x, i0, nb)
			kern.SgemmPairs(len(cols)/c.k16(), cout, c.k, cols, c.k16(), true, w, c.k, 0, yc, cout)
			continue
		}
		cols := c.im2col(x, i0, nb)
		kern.Sgemm(false, true, len(cols)/c.k, cout, c.k, 1, cols, c.k, w, c.k, 0, yc, cout)
	}
}

// Backward adds dW += dY^T × cols into Weight.Grad and, unless dx is nil,
// computes dcols = dY × W and folds it back onto dx (col2im). dx is
// overwritten, or added to when accumulate is set.
//
//	dx: [n][H][W][Cin] or nil
//	dy: [n][OutH][OutW][Cout]
//	x:  [n][H][W][Cin], the input of Forward
func (c *Conv2d) Backward(dx, dy, x []float32, n int, accumulate bool) {
	checkBatch(n, c.In.N)
	x = need("conv input", x, n*c.In.Image())
	dy = need("conv output gradient", dy, n*c.Out.Image())
	if dx != nil {
		dx = need("conv input gradient", dx, n*c.In.Image())
	}
	w, dw, cout := c.Weight.Data, c.Weight.Grad, c.Out.C
	if c.pointwise() {
		m := n * c.In.H * c.In.W
		kern.Sgemm(true, false, cout, c.k, m, 1, dy, cout, x, c.k, 1, dw, c.k)
		if dx != nil {
			kern.Sgemm(false, false, m, c.k, cout, 1, dy, cout, w, c.k, beta(accumulate), dx, c.k)
		}
		return
	}
	if len(c.dwT) == 0 {
		c.dwT = make([]float32, c.k*cout)
	}
	for i0 := 0; i0 < n; i0 += c.chunk {
		nb := min(c.chunk, n-i0)
		cols := c.im2col(x, i0, nb)
		m, dyc := len(cols)/c.k, dy[i0*c.Out.Image():]
		// dWᵀ = colsᵀ·dY: K×Cout, whole tiles for the ResNet shapes, where
		// dW = dYᵀ·cols would leave Cout=64 rows a third of a tile short.
		kern.Sgemm(true, false, c.k, cout, m, 1, cols, c.k, dyc, cout, beta(i0 > 0), c.dwT, cout)
		if dx != nil {
			kern.Sgemm(false, false, m, c.k, cout, 1, dyc, cout, w, c.k, 0, cols, c.k) // cols now holds dcols
			c.col2im(dx, cols, i0, nb, accumulate)
		}
	}
	for o := range cout {
		row := dw[o*c.k : (o+1)*c.k]
		for j := range row {
			row[j] += c.dwT[j*cout+o]
		}
	}
}

// beta is the GEMM beta that overwrites (0) or accumulates (1) into C.
func beta(accumulate bool) float32 {
	if accumulate {
		return 1
	}
	return 0
}

// im2col lowers images [i0, i0+nb) of x into c.cols and returns the part
// used: one row of K*K*Cin values per output pixel (see lowerPixel).
func (c *Conv2d) im2col(x []float32, i0, nb int) []float32 {
	out := c.Out
	cols := c.cols[:nb*out.H*out.W*c.k]
	parallel(nb*out.H, len(cols), kern.Func(func(lo, hi int) {
		for r := lo; r < hi; r++ { // r: (image within chunk, output row)
			for ow := 0; ow < out.W; ow++ {
				c.lowerPixel(cols[(r*out.W+ow)*c.k:][:c.k], x, i0+r/out.H, r%out.H, ow)
			}
		}
	}))
	return cols
}

// im2colBF16 is im2col writing bfloat16 pairs (kern.SgemmPairs' A), half
// the bytes of float32: each row is lowered in float32 to a small buffer,
// then converted. Rows are c.k16 dwords; an odd k is padded with zero.
func (c *Conv2d) im2colBF16(x []float32, i0, nb int) []uint32 {
	out := c.Out
	rows := nb * out.H * out.W
	if len(c.cols16) < c.chunk*out.H*out.W*c.k16() {
		c.cols16 = make([]uint32, c.chunk*out.H*out.W*c.k16())
	}
	cols := c.cols16[:rows*c.k16()]
	parallel(nb*out.H, rows*c.k, kern.Func(func(lo, hi int) {
		buf, _ := c.rows.Get().(*[]float32)
		if buf == nil {
			b := make([]float32, c.k)
			buf = &b
		}
		defer c.rows.Put(buf)
		row := *buf
		for r := lo; r < hi; r++ {
			for ow := 0; ow < out.W; ow++ {
				c.lowerPixel(row, x, i0+r/out.H, r%out.H, ow)
				kern.PackBF16(cols[(r*out.W+ow)*c.k16():][:c.k16()], row)
			}
		}
	}))
	return cols
}

// k16 is the length of an im2col row in bf16 pairs.
func (c *Conv2d) k16() int { return (c.k + 1) / 2 }

// lowerPixel writes the im2col row of output pixel (oh, ow) of image img:
// K*K*Cin values ordered (kh, kw, cin) as the OHWI weight, zeros where the
// window overhangs the padding. The kw run of a row is one contiguous
// stretch of input pixels, so each kh is one copy.
func (c *Conv2d) lowerPixel(row, x []float32, img, oh, ow int) {
	in, win := c.In, c.Win
	span := win.K * in.C // one kh segment of a row
	iw0 := ow*win.Stride - win.Pad
	kw0 := max(0, -iw0)
	kw1 := max(kw0, min(win.K, in.W-iw0)) // [kw0, kw1): kw inside the image
	for kh := 0; kh < win.K; kh++ {
		seg := row[kh*span:][:span]
		ih := oh*win.Stride - win.Pad + kh
		if ih < 0 || ih >= in.H {
			clear(seg)
			continue
		}
		clear(seg[:kw0*in.C])
		copy(seg[kw0*in.C:kw1*in.C], x[((img*in.H+ih)*in.W+iw0+kw0)*in.C:])
		clear(seg[kw1*in.C:])
	}
}

// col2im folds dcols (im2col rows of images [i0, i0+nb)) back onto dx. Each
// input pixel gathers the window positions that read it, in (kh, kw) order,
// so the sum is the same however the rows are split over threads.
func (c *Conv2d) col2im(dx, dcols []float32, i0, nb int, accumulate bool) {
	in, out, win := c.In, c.Out, c.Win
	parallel(nb*in.H, len(dcols), kern.Func(func(lo, hi int) {
		for r := lo; r < hi; r++ { // r: (image within chunk, input row)
			img, ih := r/in.H, r%in.H
			for iw := 0; iw < in.W; iw++ {
				dst := dx[(((i0+img)*in.H+ih)*in.W+iw)*in.C:][:in.C]
				if !accumulate {
					clear(dst)
				}
				for kh := 0; kh < win.K; kh++ {
					oh, ok := win.source(ih, kh, out.H)
					if !ok {
						continue
					}
					for kw := 0; kw < win.K; kw++ {
						ow, ok := win.source(iw, kw, out.W)
						if !ok {
							continue
						}
						kern.AddTo(dst, dcols[((img*out.H+oh)*out.W+ow)*c.k+(kh*win.K+kw)*in.C:][:in.C])
					}
				}
			}
		}
	}))
}

// source is the output position whose window reads input position i at
// window offset k, if there is one within [0, n).
func (w Window) source(i, k, n int) (int, bool) {
	t := i + w.Pad - k
	if t < 0 || t%w.Stride != 0 || t/w.Stride >= n {
		return 0, false
	}
	return t / w.Stride, true
}

// WeightFromOIHW converts a PyTorch convolution weight to OHWI.
//
//	dst: [cout][k][k][cin]
//	src: [cout][cin][k][k]
func WeightFromOIHW(dst, src []float32, cout, cin, k int) {
	permuteOI(dst, src, cout, cin, k, true)
}

// WeightToOIHW converts an OHWI convolution weight to PyTorch's layout.
//
//	dst: [cout][cin][k][k]
//	src: [cout][k][k][cin]
func WeightToOIHW(dst, src []float32, cout, cin, k int) {
	permuteOI(dst, src, cout, cin, k, false)
}

// permuteOI moves between OIHW index (o, i, s) and OHWI index (o, s, i),
// where s runs over the k*k window positions.
func permuteOI(dst, src []float32, cout, cin, k int, toOHWI bool) {
	kk := k * k
	dst, src = need("weight", dst, cout*cin*kk), need("weight", src, cout*cin*kk)
	for o := 0; o < cout; o++ {
		for i := 0; i < cin; i++ {
			for s := 0; s < kk; s++ {
				oihw, ohwi := (o*cin+i)*kk+s, (o*kk+s)*cin+i
				if toOHWI {
					dst[ohwi] = src[oihw]
				} else {
					dst[oihw] = src[ohwi]
				}
			}
		}
	}
}
