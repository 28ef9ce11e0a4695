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

// minPadSkip is how many padding taps per lowered row, on average over the
// output, a convolution must be able to skip before it lowers only the taps
// inside the image, a region at a time (see region): the multiply-adds saved
// must outweigh gathering and scattering each region's rows and running
// more, smaller GEMMs. Measured with BenchmarkConvLowering at 512 views:
// the ImageNet stem's layer3 (1,290 skippable of 2,304) and layer4 (4,100
// of 4,608) run 1.6× and 3.5× faster split, the CIFAR stem's layer4
// (1,380) 1.3×; its layer2 (346) and layer3.0.conv1 (357) run the same
// either way, and layer1 (92) slower. A variable so that tests can force
// either way.
var minPadSkip = 360.0

// Conv2d is a 2-d convolution without bias over NHWC activations. Its weight
// is stored OHWI, [Cout][K][K][Cin], so that an im2col row of K*K*Cin values
// meets a contiguous weight row; WeightFromOIHW and WeightToOIHW convert from
// and to PyTorch's layout.
type Conv2d struct {
	Weight  *Param // [Cout][K][K][Cin]
	In, Out Dims
	Win     Window
	k       int       // K*K*Cin: the length of a whole-window im2col row
	regions []region  // one covering the whole output, or the padding-free split
	cols    []float32 // im2col scratch for the largest pass of any region
	cols16  []uint32  // bf16 mode's forward lowering, made on first use
	wr      []float32 // the weights of regions with partial windows, [Cout][taps] each
	rows    []float32 // a region's output (gradient) rows packed, [pixels][Cout]; split only
	dwT     []float32 // [k][Cout], the weight gradient as the GEMM leaves it, made on first use
	dwr     []float32 // [taps][Cout], one partial region's weight gradient

	// The parallel loops, kept here so that running them allocates nothing.
	lower lowerTask
	fold  col2imTask
	move  rowsTask
}

// A region is a rectangle of output pixels whose windows overlap the image
// in the same taps: output rows [oh0, oh1) and columns [ow0, ow1) read
// window rows [kh0, kh1) and columns [kw0, kw1). On the 4×4 and smaller maps
// of the ImageNet stem on 32×32 images a third or more of all taps fall on
// padding (8 of 9 at 1×1); lowering region by region multiplies only the
// others.
type region struct {
	oh0, oh1, ow0, ow1 int
	kh0, kh1, kw0, kw1 int
	ih0, ih1, iw0, iw1 int // the input pixels col2im visits
	taps               int // values in one lowered row: (kh1-kh0)*(kw1-kw0)*Cin
	chunk              int // images lowered per pass
	w                  int // offset of its weights in wr, or -1 for whole windows
}

func (r *region) height() int   { return r.oh1 - r.oh0 }
func (r *region) pixels() int   { return r.height() * (r.ow1 - r.ow0) }
func (r *region) taps16() int   { return (r.taps + 1) / 2 }
func (r *region) partial() bool { return r.w >= 0 }

// span is a run [o0, o1) of output positions along one side whose windows
// keep the taps [k0, k1) inside the input.
type span struct{ o0, o1, k0, k1 int }

// spans splits the out positions along an input side of n into runs of the
// same taps inside the input, and reports the share of taps that are.
func (w Window) spans(n, out int) ([]span, float64) {
	var s []span
	inside := 0
	for o := range out {
		start := o*w.Stride - w.Pad
		k0, k1 := max(0, -start), min(w.K, n-start)
		inside += k1 - k0
		if l := len(s); l > 0 && s[l-1].k0 == k0 && s[l-1].k1 == k1 {
			s[l-1].o1 = o + 1
			continue
		}
		s = append(s, span{o, o + 1, k0, k1})
	}
	return s, float64(inside) / float64(out*w.K)
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
	if c.pointwise() {
		return c
	}
	hs, hIn := win.spans(in.H, c.Out.H)
	ws, wIn := win.spans(in.W, c.Out.W)
	if (1-hIn*wIn)*float64(c.k) < minPadSkip {
		hs, ws = []span{{0, c.Out.H, 0, win.K}}, []span{{0, c.Out.W, 0, win.K}}
	}
	wr, cols, rows, dwr := 0, 0, 0, 0
	for _, h := range hs {
		for _, v := range ws {
			r := region{oh0: h.o0, oh1: h.o1, ow0: v.o0, ow1: v.o1, kh0: h.k0, kh1: h.k1, kw0: v.k0, kw1: v.k1,
				ih0: h.o0*win.Stride - win.Pad + h.k0, ih1: (h.o1-1)*win.Stride - win.Pad + h.k1,
				iw0: v.o0*win.Stride - win.Pad + v.k0, iw1: (v.o1-1)*win.Stride - win.Pad + v.k1,
				taps: (h.k1 - h.k0) * (v.k1 - v.k0) * in.C, w: -1}
			r.chunk = max(1, min(in.N, colsBudget/(r.pixels()*r.taps)))
			if r.taps < c.k {
				r.w, wr = wr, wr+cout*r.taps
				dwr = max(dwr, r.taps*cout)
			}
			cols = max(cols, r.chunk*r.pixels()*r.taps)
			if r.pixels() > 1 {
				rows = max(rows, r.chunk*r.pixels()*cout)
			}
			c.regions = append(c.regions, r)
		}
	}
	if len(c.regions) == 1 {
		// The only region writes y in place and visits every input pixel in
		// col2im, clearing those no window reads.
		r := &c.regions[0]
		r.ih0, r.ih1, r.iw0, r.iw1 = 0, in.H, 0, in.W
		rows = 0
	}
	c.cols, c.wr, c.rows, c.dwr = make([]float32, cols), make([]float32, wr), make([]float32, rows), make([]float32, dwr)
	return c
}

// pointwise reports whether the input is already its own im2col matrix
// [N*H*W][Cin], as for a 1×1 stride-1 convolution.
func (c *Conv2d) pointwise() bool { return c.Win == Window{K: 1, Stride: 1} }

// split reports whether the output is lowered in several regions.
func (c *Conv2d) split() bool { return len(c.regions) > 1 }

// direct reports whether the GEMMs can read and write region r's output
// (gradient) rows where they lie in NHWC, at one stride: when it is the only
// region, or has one pixel per image. Otherwise moveRows packs them.
func (c *Conv2d) direct(r *region) bool { return !c.split() || r.pixels() == 1 }

// inPlace returns a direct region's rows of images from i0 in t, [n][OutH][OutW][Cout], and their stride.
func (c *Conv2d) inPlace(r *region, t []float32, i0 int) ([]float32, int) {
	ld := c.Out.C
	if c.split() {
		ld = c.Out.Image()
	}
	return t[i0*c.Out.Image()+(r.oh0*c.Out.W+r.ow0)*c.Out.C:], ld
}

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

// Forward computes y = conv(x): per region and pass, out[M][Cout] =
// cols[M][taps] × W_r^T, where W_r holds the region's taps of the weight.
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
	c.gatherWeights()
	for ri := range c.regions {
		r := &c.regions[ri]
		w, ldw := c.regionWeights(r)
		for i0 := 0; i0 < n; i0 += r.chunk {
			nb := min(r.chunk, n-i0)
			m, out, ldo := nb*r.pixels(), c.rows, cout
			if c.direct(r) {
				out, ldo = c.inPlace(r, y, i0)
			}
			if kern.BF16() {
				// Lowering straight to bf16 halves the bytes written and read,
				// and spares the GEMM converting them.
				cols := c.im2colBF16(r, x, i0, nb)
				kern.SgemmPairs(m, cout, r.taps, cols, r.taps16(), true, w, ldw, 0, out, ldo)
			} else {
				cols := c.im2col(r, x, i0, nb)
				kern.Sgemm(false, true, m, cout, r.taps, 1, cols, r.taps, w, ldw, 0, out, ldo)
			}
			if !c.direct(r) {
				c.moveRows(r, y, i0, nb, false)
			}
		}
	}
}

// Backward adds dW += dY^T × cols into Weight.Grad and, unless dx is nil,
// computes dcols = dY × W and folds it back onto dx (col2im), region by
// region. dx is overwritten, or added to when accumulate is set.
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
	clear(c.dwT)
	if dx != nil && c.split() && !accumulate {
		clear(dx) // regions add onto it in turn
	}
	c.gatherWeights()
	for ri := range c.regions {
		r := &c.regions[ri]
		w, ldw := c.regionWeights(r)
		dwT := c.dwT
		if r.partial() {
			dwT = c.dwr[:r.taps*cout]
		}
		for i0 := 0; i0 < n; i0 += r.chunk {
			nb := min(r.chunk, n-i0)
			cols := c.im2col(r, x, i0, nb)
			m, dyr, ldy := nb*r.pixels(), c.rows, cout
			if c.direct(r) {
				dyr, ldy = c.inPlace(r, dy, i0)
			} else {
				c.moveRows(r, dy, i0, nb, true)
			}
			// dWᵀ = colsᵀ·dY: taps×Cout, whole tiles for the ResNet shapes,
			// where dW = dYᵀ·cols would leave Cout=64 rows a third of a tile
			// short.
			kern.Sgemm(true, false, r.taps, cout, m, 1, cols, r.taps, dyr, ldy, beta(!r.partial() || i0 > 0), dwT, cout)
			if dx != nil {
				kern.Sgemm(false, false, m, r.taps, cout, 1, dyr, ldy, w, ldw, 0, cols, r.taps) // cols now holds dcols
				c.col2im(r, dx, cols, i0, nb, accumulate || c.split())
			}
		}
		if r.partial() {
			c.scatterTaps(c.dwT, dwT, r, cout)
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

// gatherWeights copies each partial region's taps of every output
// channel's weight row into wr.
func (c *Conv2d) gatherWeights() {
	w, cout := c.Weight.Data, c.Out.C
	for ri := range c.regions {
		r := &c.regions[ri]
		if !r.partial() {
			continue
		}
		span := (r.kw1 - r.kw0) * c.In.C
		for o := range cout {
			dst := c.wr[r.w+o*r.taps:][:r.taps]
			for kh := r.kh0; kh < r.kh1; kh++ {
				copy(dst[(kh-r.kh0)*span:][:span], w[o*c.k+(kh*c.Win.K+r.kw0)*c.In.C:])
			}
		}
	}
}

// regionWeights returns the weight matrix a region multiplies, [Cout][taps],
// and its row stride.
func (c *Conv2d) regionWeights(r *region) ([]float32, int) {
	if r.partial() {
		return c.wr[r.w:][:c.Out.C*r.taps], r.taps
	}
	return c.Weight.Data, c.k
}

// scatterTaps adds a partial region's weight gradient [taps][Cout] onto the
// rows of the whole-window one [k][Cout] that hold the same taps.
func (c *Conv2d) scatterTaps(dwT, dwr []float32, r *region, cout int) {
	span := (r.kw1 - r.kw0) * c.In.C * cout
	for kh := r.kh0; kh < r.kh1; kh++ {
		kern.AddTo(dwT[(kh*c.Win.K+r.kw0)*c.In.C*cout:][:span], dwr[(kh-r.kh0)*span:][:span])
	}
}

// im2col lowers images [i0, i0+nb) of x into c.cols for region r and
// returns the part used: one row of r.taps values per output pixel of the
// region (see lowerPixel).
func (c *Conv2d) im2col(r *region, x []float32, i0, nb int) []float32 {
	c.lower = lowerTask{c: c, r: r, x: x, i0: i0}
	parallel(nb*r.height(), nb*r.pixels()*r.taps, &c.lower)
	return c.cols[:nb*r.pixels()*r.taps]
}

// im2colBF16 is im2col writing bfloat16 pairs (kern.SgemmPairs' A), half
// the bytes of float32: each row is lowered in float32, then converted. Rows are r.taps16 dwords; an odd count is padded with zero.
func (c *Conv2d) im2colBF16(r *region, x []float32, i0, nb int) []uint32 {
	if len(c.cols16) == 0 {
		pairs := 0
		for _, r := range c.regions {
			pairs = max(pairs, r.chunk*r.pixels()*r.taps16())
		}
		c.cols16 = make([]uint32, pairs)
	}
	size := nb * r.pixels() * r.taps16()
	c.lower = lowerTask{c: c, r: r, x: x, i0: i0, bf16: true}
	parallel(nb*r.height(), nb*r.pixels()*r.taps, &c.lower)
	return c.cols16[:size]
}

// lowerTask lowers images [i0, i0+nb) of x for region r, to c.cols or, in
// bf16, to c.cols16; it runs over (image, region row).
type lowerTask struct {
	c    *Conv2d
	r    *region
	x    []float32
	i0   int
	bf16 bool
}

func (t *lowerTask) Run(lo, hi int) {
	c, r := t.c, t.r
	// In bf16 the float32 scratch is free: each range lowers its rows, one
	// at a time, at the place of its first.
	row := c.cols[lo*(r.ow1-r.ow0)*r.taps:][:r.taps]
	for q := lo; q < hi; q++ {
		img, oh := q/r.height(), r.oh0+q%r.height()
		for ow := r.ow0; ow < r.ow1; ow++ {
			p := q*(r.ow1-r.ow0) + ow - r.ow0 // the pixel's row in the pass
			if t.bf16 {
				c.lowerPixel(row, t.x, t.i0+img, oh, ow, r)
				kern.PackBF16(c.cols16[p*r.taps16():][:r.taps16()], row)
				continue
			}
			c.lowerPixel(c.cols[p*r.taps:][:r.taps], t.x, t.i0+img, oh, ow, r)
		}
	}
}

// lowerPixel writes the im2col row of output pixel (oh, ow) of image img:
// the region's taps ordered (kh, kw, cin) as the OHWI weight, zeros where
// the window overhangs the padding. The kw run of a row is one contiguous
// stretch of input pixels, so each kh is one copy.
func (c *Conv2d) lowerPixel(row, x []float32, img, oh, ow int, r *region) {
	in, win := c.In, c.Win
	span := (r.kw1 - r.kw0) * in.C // one kh segment of a row
	iw0 := ow*win.Stride - win.Pad + r.kw0
	kw0 := max(0, -iw0)
	kw1 := max(kw0, min(r.kw1-r.kw0, in.W-iw0)) // [kw0, kw1): taps inside the image
	for kh := r.kh0; kh < r.kh1; kh++ {
		seg := row[(kh-r.kh0)*span:][:span]
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

// col2im folds dcols (region r's im2col rows of images [i0, i0+nb)) back
// onto dx, overwriting unless accumulate.
func (c *Conv2d) col2im(r *region, dx, dcols []float32, i0, nb int, accumulate bool) {
	c.fold = col2imTask{c: c, r: r, dx: dx, dcols: dcols, i0: i0, accumulate: accumulate}
	parallel(nb*(r.ih1-r.ih0), len(dcols), &c.fold)
}

// col2imTask is col2im over (image, input row). Each input pixel gathers
// the window positions that read it, in (kh, kw) order, so the sum is the
// same however the rows are split over threads.
type col2imTask struct {
	c          *Conv2d
	r          *region
	dx, dcols  []float32
	i0         int
	accumulate bool
}

func (t *col2imTask) Run(lo, hi int) {
	c, r := t.c, t.r
	in, out, win := c.In, c.Out, c.Win
	for q := lo; q < hi; q++ {
		img, ih := q/(r.ih1-r.ih0), r.ih0+q%(r.ih1-r.ih0)
		for iw := r.iw0; iw < r.iw1; iw++ {
			dst := t.dx[(((t.i0+img)*in.H+ih)*in.W+iw)*in.C:][:in.C]
			if !t.accumulate {
				clear(dst)
			}
			for kh := r.kh0; kh < r.kh1; kh++ {
				oh, ok := win.source(ih, kh, out.H)
				if !ok || oh < r.oh0 || oh >= r.oh1 {
					continue
				}
				for kw := r.kw0; kw < r.kw1; kw++ {
					ow, ok := win.source(iw, kw, out.W)
					if !ok || ow < r.ow0 || ow >= r.ow1 {
						continue
					}
					p := (img*r.height()+oh-r.oh0)*(r.ow1-r.ow0) + ow - r.ow0
					tap := (kh-r.kh0)*(r.kw1-r.kw0) + kw - r.kw0
					kern.AddTo(dst, t.dcols[p*r.taps+tap*in.C:][:in.C])
				}
			}
		}
	}
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

// moveRows moves region r's pixels of images [i0, i0+nb) between the NHWC
// t ([n][OutH][OutW][Cout]) and c.rows, where they lie packed in the
// order of the region's im2col rows: gathering when pack is set, else
// scattering.
func (c *Conv2d) moveRows(r *region, t []float32, i0, nb int, pack bool) {
	c.move = rowsTask{c: c, r: r, t: t, i0: i0, pack: pack}
	parallel(nb*r.height(), nb*r.pixels()*c.Out.C, &c.move)
}

// rowsTask is moveRows over (image, region row).
type rowsTask struct {
	c    *Conv2d
	r    *region
	t    []float32
	i0   int
	pack bool
}

func (m *rowsTask) Run(lo, hi int) {
	c, r, out := m.c, m.r, m.c.Out
	run := (r.ow1 - r.ow0) * out.C
	for q := lo; q < hi; q++ {
		img, oh := q/r.height(), r.oh0+q%r.height()
		packed := c.rows[q*run:][:run]
		nhwc := m.t[(((m.i0+img)*out.H+oh)*out.W+r.ow0)*out.C:][:run]
		if m.pack {
			copy(packed, nhwc)
		} else {
			copy(nhwc, packed)
		}
	}
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
