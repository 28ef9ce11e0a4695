package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

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
//
// The 3×3 convolutions of ResNet-18 run directly (direct.go), its 1×1
// stride-2 downsamples in chunks of gathered pixels (strided.go); the
// others, and batches smaller than a tile, through im2col and GEMM.
type Conv2d struct {
	Weight  *Param // [Cout][K][K][Cin]
	In, Out Dims
	Win     Window
	eng     *kern.Engine
	prec    kern.Precision // what forward and dx multiply in (eng's policy), and the direct path's dW
	k       int            // K*K*Cin: the length of an im2col row
	chunk   int            // images lowered per im2col pass
	cols    []float32      // [chunk*OutH*OutW][k], made on first use; nil when x is its own im2col
	cols16  []uint32       // [chunk*OutH*OutW][k16], bf16 mode's forward lowering, made on first use
	dwT     []float32      // [k][Cout], the weight gradient as the GEMM leaves it, made on first use
	lowered []float32      // the input whose whole batch cols holds, lowered by Forward in one pass

	direct    bool      // computed directly when the batch fills a tile
	subsample bool      // a 1×1 strided convolution, run in chunks (strided.go)
	gathered  []float32 // the strided path's gathered pixels, one chunk per unit
	partials  []float32 // the strided path's weight gradient of each unit
	wp        []float32 // the weight packed for the direct forward
	wp16      []uint32  // the same in bf16 pairs, made on first use
	wq16      []uint32  // the weight in bf16 pairs for the direct dx, made on first use
	taps      []int     // the taps (kh*K+kw) some window keeps inside the image
	tiles     []float32 // the direct loops' scratch tiles, one slot per unit

	// The parallel loops, kept here so that running them allocates nothing.
	lower       lowerTask
	fold        col2imTask
	dfwd        directForward
	dinput      directInputGrad
	dweight     directWeightGrad
	transpose   transposeTask
	pairImages  imagePairsTask
	sub         stridedTask
	sumPartials addPartials
}

// NewConv2d builds a convolution from in.C to cout channels for batches of up
// to in.N images of in.H×in.W, computed by eng in its convolutions'
// precision. Its weight is zero until initialised or loaded.
func NewConv2d(name string, in Dims, cout int, win Window, eng *kern.Engine) *Conv2d {
	if win.K < 1 || win.Stride < 1 || win.Pad < 0 || win.out(in.H) < 1 || win.out(in.W) < 1 {
		panic(fmt.Sprintf("nn: conv %s: window %+v does not fit %+v", name, win, in))
	}
	c := &Conv2d{
		Weight: newParam(join(name, "weight"), cout, win.K, win.K, in.C),
		In:     in,
		Out:    Dims{N: in.N, H: win.out(in.H), W: win.out(in.W), C: cout},
		Win:    win,
		eng:    eng,
		prec:   eng.Policy().Conv,
		k:      win.K * win.K * in.C,
	}
	if !c.pointwise() {
		c.chunk = max(1, min(in.N, colsBudget/(c.Out.H*c.Out.W*c.k)))
	}
	if useDirect && tiled(eng) && canStrided(in, cout, win) {
		c.subsample = true
		c.tiles = make([]float32, maxStridedUnits*tr*tc)
		c.wp = make([]float32, cout*c.k)
		c.taps = []int{0}
	}
	if useDirect && tiled(eng) && canDirect(in, cout, win) {
		c.direct = true
		units := max(c.Out.H*c.Out.W*cout, in.H*in.W*in.C, win.K*win.K*in.C) / tc
		c.tiles = make([]float32, units*tr*tc)
		c.wp = make([]float32, cout*c.k)
		for kh := range win.K {
			for kw := range win.K {
				if win.inside(kh, in.H, c.Out.H) && win.inside(kw, in.W, c.Out.W) {
					c.taps = append(c.taps, kh*win.K+kw)
				}
			}
		}
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

// Forward computes y = conv(x): directly, or as out[M][Cout] = cols[M][K] ×
// W^T per chunk of images.
//
//	y: [n][OutH][OutW][Cout]
//	x: [n][H][W][Cin]
func (c *Conv2d) Forward(y, x []float32, n int) {
	checkBatch(n, c.In.N)
	x = need("conv input", x, n*c.In.Image())
	y = need("conv output", y, n*c.Out.Image())
	w, cout := c.Weight.Data, c.Out.C
	switch {
	case c.pointwise():
		c.eng.SgemmIn(c.prec, false, true, n*c.In.H*c.In.W, cout, c.k, 1, x, c.k, w, c.k, 0, y, cout)
		return
	case c.direct && n >= tr:
		c.forwardDirect(y, x, n)
		return
	case c.strided(n):
		c.forwardStrided(y, x, n)
		return
	}
	c.lowered = nil
	for i0 := 0; i0 < n; i0 += c.chunk {
		nb := min(c.chunk, n-i0)
		yc := y[i0*c.Out.Image():]
		if c.prec == kern.BF16 {
			// Lowering straight to bf16 halves the bytes written and read, and
			// spares the GEMM converting them.
			cols := c.im2colBF16(x, i0, nb)
			c.eng.SgemmPairs(len(cols)/c.k16(), cout, c.k, cols, c.k16(), true, w, c.k, 0, yc, cout)
			continue
		}
		cols := c.im2col(x, i0, nb)
		c.eng.Sgemm(false, true, len(cols)/c.k, cout, c.k, 1, cols, c.k, w, c.k, 0, yc, cout)
		if nb == n {
			c.lowered = x // Backward need not lower it again
		}
	}
}

// Backward adds dW += dY^T × cols into Weight.Grad and, unless dx is nil,
// computes dcols = dY × W and folds it back onto dx (col2im), or does the
// same directly. dx is overwritten, or added to when accumulate is set.
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
	switch {
	case c.pointwise():
		m := n * c.In.H * c.In.W
		c.eng.Sgemm(true, false, cout, c.k, m, 1, dy, cout, x, c.k, 1, dw, c.k)
		if dx != nil {
			c.eng.SgemmIn(c.prec, false, false, m, c.k, cout, 1, dy, cout, w, c.k, beta(accumulate), dx, c.k)
		}
		return
	case c.direct && n >= tr:
		c.backwardDirect(dx, dy, x, n, accumulate)
		return
	case c.strided(n):
		c.backwardStrided(dx, dy, x, n, accumulate)
		return
	}
	if len(c.dwT) == 0 {
		c.dwT = make([]float32, c.k*cout)
	}
	for i0 := 0; i0 < n; i0 += c.chunk {
		nb := min(c.chunk, n-i0)
		var cols []float32
		if nb == n && len(c.lowered) == len(x) && &c.lowered[0] == &x[0] {
			cols = c.cols[:n*c.Out.H*c.Out.W*c.k]
		} else {
			cols = c.im2col(x, i0, nb)
		}
		c.lowered = nil // cols is about to hold dcols
		m, dyc := len(cols)/c.k, dy[i0*c.Out.Image():]
		// dWᵀ = colsᵀ·dY: K×Cout, whole tiles for the ResNet shapes, where
		// dW = dYᵀ·cols would leave Cout=64 rows a third of a tile short.
		c.eng.Sgemm(true, false, c.k, cout, m, 1, cols, c.k, dyc, cout, beta(i0 > 0), c.dwT, cout)
		if dx != nil {
			c.eng.SgemmIn(c.prec, false, false, m, c.k, cout, 1, dyc, cout, w, c.k, 0, cols, c.k) // cols now holds dcols
			c.col2im(dx, cols, i0, nb, accumulate)
		}
	}
	// Add the transpose a block of output channels at a time: reading dWᵀ a
	// column at a time would miss the cache on every value.
	const block = 16
	for o0 := 0; o0 < cout; o0 += block {
		ob := min(block, cout-o0)
		for j := range c.k {
			for o, v := range c.dwT[j*cout+o0:][:ob] {
				dw[(o0+o)*c.k+j] += v
			}
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
	if c.cols == nil {
		c.cols = make([]float32, c.chunk*c.Out.H*c.Out.W*c.k)
	}
	c.lower = lowerTask{c: c, x: x, i0: i0}
	parallel(c.eng, nb*c.Out.H, nb*c.Out.H*c.Out.W*c.k, &c.lower)
	return c.cols[:nb*c.Out.H*c.Out.W*c.k]
}

// im2colBF16 is im2col writing bfloat16 pairs (kern.Engine.SgemmPairs' A), half
// the bytes of float32: each row is lowered in float32, then converted.
// Rows are c.k16 dwords; an odd k is padded with zero.
func (c *Conv2d) im2colBF16(x []float32, i0, nb int) []uint32 {
	rows := c.chunk * c.Out.H * c.Out.W
	if c.cols16 == nil {
		c.cols16 = make([]uint32, rows*c.k16())
	}
	if c.cols == nil {
		c.cols = make([]float32, rows*c.k)
	}
	c.lower = lowerTask{c: c, x: x, i0: i0, bf16: true}
	parallel(c.eng, nb*c.Out.H, nb*c.Out.H*c.Out.W*c.k, &c.lower)
	return c.cols16[:nb*c.Out.H*c.Out.W*c.k16()]
}

// k16 is the length of an im2col row in bf16 pairs.
func (c *Conv2d) k16() int { return (c.k + 1) / 2 }

// lowerTask lowers images [i0, i0+nb) of x to c.cols or, in bf16, to
// c.cols16; it runs over (image, output row).
type lowerTask struct {
	c    *Conv2d
	x    []float32
	i0   int
	bf16 bool
}

func (t *lowerTask) Run(lo, hi int) {
	c, out := t.c, t.c.Out
	// In bf16 the float32 scratch is free: each range lowers its rows, one
	// at a time, at the place of its first.
	row := c.cols[lo*out.W*c.k:][:c.k]
	for r := lo; r < hi; r++ { // r: (image within chunk, output row)
		for ow := range out.W {
			p := r*out.W + ow
			if t.bf16 {
				c.lowerPixel(row, t.x, t.i0+r/out.H, r%out.H, ow)
				c.eng.PackBF16(c.cols16[p*c.k16():][:c.k16()], row)
				continue
			}
			c.lowerPixel(c.cols[p*c.k:][:c.k], t.x, t.i0+r/out.H, r%out.H, ow)
		}
	}
}

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
	for kh := range win.K {
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

// col2im folds dcols (im2col rows of images [i0, i0+nb)) back onto dx,
// overwriting unless accumulate.
func (c *Conv2d) col2im(dx, dcols []float32, i0, nb int, accumulate bool) {
	c.fold = col2imTask{c: c, dx: dx, dcols: dcols, i0: i0, accumulate: accumulate}
	parallel(c.eng, nb*c.In.H, len(dcols), &c.fold)
}

// col2imTask is col2im over (image within chunk, input row). Each input
// pixel gathers the window positions that read it, in (kh, kw) order, so
// the sum is the same however the rows are split over threads.
type col2imTask struct {
	c          *Conv2d
	dx, dcols  []float32
	i0         int
	accumulate bool
}

func (t *col2imTask) Run(lo, hi int) {
	c := t.c
	in, out, win := c.In, c.Out, c.Win
	for r := lo; r < hi; r++ {
		img, ih := r/in.H, r%in.H
		for iw := range in.W {
			dst := t.dx[(((t.i0+img)*in.H+ih)*in.W+iw)*in.C:][:in.C]
			if !t.accumulate {
				clear(dst)
			}
			for kh := range win.K {
				oh, ok := win.source(ih, kh, out.H)
				if !ok {
					continue
				}
				for kw := range win.K {
					ow, ok := win.source(iw, kw, out.W)
					if !ok {
						continue
					}
					c.eng.AddTo(dst, t.dcols[((img*out.H+oh)*out.W+ow)*c.k+(kh*win.K+kw)*in.C:][:in.C])
				}
			}
		}
	}
}

// inside reports whether some of the out windows along an input side of n
// has its offset k inside the input.
func (w Window) inside(k, n, out int) bool {
	for o := range out {
		if _, ok := w.at(o, k, n); ok {
			return true
		}
	}
	return false
}

// at is the input position that output position o's window reads at
// offset k, and whether it lies within [0, n): the converse of source.
func (w Window) at(o, k, n int) (int, bool) {
	i := o*w.Stride - w.Pad + k
	return i, i >= 0 && i < n
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
