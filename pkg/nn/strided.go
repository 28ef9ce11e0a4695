package nn

import "github.com/simclr-go/simclr/pkg/kern"

// A 1×1 convolution of stride s > 1 (a ResNet downsample) is a GEMM over
// every s-th pixel of every s-th row. Through im2col those pixels are
// first copied out to memory and the gradient folded back from there, and
// on the ImageNet stem's 8×8 maps that traffic costs as much as the
// multiplications. Here the pixels are gathered a chunk of images at a
// time into a buffer that stays in cache; each chunk's forward tiles, or
// its weight and input gradients, are computed from it while the chunk's
// dy is in cache too, and input gradient tiles are written straight to
// their pixels.
//
// Work is split into a fixed number of units of whole images, whatever the
// thread count: each unit sums its own weight gradient, and the units' sums
// are added in order, so results do not depend on the thread count.
//
// It multiplies in float32 in bf16 mode too: that measured faster than
// im2col's bf16 path (the ImageNet stem's layer2.0.downsample 2.4 ms
// against 3.6, layer3's 1.7 against 2.1, layer4's 1.8 against 2.0).

// stridedChunk bounds the gathered pixels of one chunk, in values (256 KiB,
// a quarter of a core's L2); a variable so that tests can make chunks small.
var stridedChunk = 64 << 10

// maxStridedUnits bounds the units, and with them the partial weight
// gradients kept.
const maxStridedUnits = 16

// canStrided reports whether a convolution can run on the strided path: a
// 1×1 window of stride above 1, channel counts in whole panels.
func canStrided(in Dims, cout int, win Window) bool {
	return win.K == 1 && win.Stride > 1 && win.Pad == 0 && in.C%tc == 0 && cout%tc == 0
}

// strided reports whether a batch of n runs on the strided path: it can,
// and the batch has two tiles of output pixels, so that every unit and
// chunk (stridedLayout) holds at least one.
func (c *Conv2d) strided(n int) bool { return c.subsample && n*c.Out.H*c.Out.W >= 2*tr }

// stridedLayout splits n images into units and the units into chunks of
// chunkImgs or fewer images, each at least a tile of output pixels.
func (c *Conv2d) stridedLayout(n int) (units, chunkImgs int) {
	pix := c.Out.H * c.Out.W
	minImgs := (tr + pix - 1) / pix
	chunkImgs = max(2*minImgs, stridedChunk/(pix*c.In.C))
	units = min(maxStridedUnits, (n+chunkImgs-1)/chunkImgs, n/minImgs)
	return units, chunkImgs
}

// span returns part i of parts over [0, n), balanced.
func span(i, parts, n int) (lo, hi int) { return i * n / parts, (i + 1) * n / parts }

// stridedTask runs the forward (dy nil) or backward of the strided path
// over units.
type stridedTask struct {
	c          *Conv2d
	x, y       []float32 // forward
	dx, dy     []float32 // backward; dx nil for the weight gradient only
	n          int
	units      int
	chunkImgs  int
	accumulate bool
}

// forwardStrided is Forward on the strided path.
func (c *Conv2d) forwardStrided(y, x []float32, n int) {
	c.packWeight()
	units, chunkImgs := c.stridedLayout(n)
	c.stridedPrepare(units, chunkImgs)
	c.sub = stridedTask{c: c, x: x, y: y, n: n, units: units, chunkImgs: chunkImgs}
	parallel(c.eng, units, n*c.Out.Image()*c.k, &c.sub)
}

// backwardStrided is Backward on the strided path.
func (c *Conv2d) backwardStrided(dx, dy, x []float32, n int, accumulate bool) {
	units, chunkImgs := c.stridedLayout(n)
	c.stridedPrepare(units, chunkImgs)
	c.sub = stridedTask{c: c, x: x, dx: dx, dy: dy, n: n, units: units, chunkImgs: chunkImgs, accumulate: accumulate}
	parallel(c.eng, units, 2*n*c.Out.Image()*c.k, &c.sub)
	// Add the units' weight gradients in unit order.
	dw, size := c.Weight.Grad, len(c.Weight.Grad)
	c.sumPartials = addPartials{e: c.eng, dst: dw, parts: c.partials[:units*size]}
	parallel(c.eng, size, units*size, &c.sumPartials)
}

// stridedPrepare makes the gather buffers (one per unit: a range of
// units run by one thread reuses that of its first) and the partial
// weight gradients.
func (c *Conv2d) stridedPrepare(units, chunkImgs int) {
	if need := units * chunkImgs * c.Out.H * c.Out.W * c.In.C; len(c.gathered) < need {
		c.gathered = make([]float32, need)
	}
	if need := units * len(c.Weight.Grad); len(c.partials) < need {
		c.partials = make([]float32, need)
	}
}

func (t *stridedTask) Run(lo, hi int) {
	c := t.c
	pix, cin := c.Out.H*c.Out.W, c.In.C
	buf := c.gathered[lo*t.chunkImgs*pix*cin:][:t.chunkImgs*pix*cin]
	scratch := c.tile(lo)
	for u := lo; u < hi; u++ {
		i0, i1 := span(u, t.units, t.n)
		chunks := (i1 - i0 + t.chunkImgs - 1) / t.chunkImgs
		size := len(c.Weight.Grad)
		dw := c.partials[u*size:][:size]
		if t.dy != nil {
			clear(dw)
		}
		for ch := range chunks {
			a, b := span(ch, chunks, i1-i0)
			rows := c.gather(buf, t.x, i0+a, i0+b)
			r0 := (i0 + a) * pix
			if t.dy == nil {
				t.forward(rows, r0)
				continue
			}
			t.weightGrad(dw, rows, r0, scratch)
			if t.dx != nil {
				t.inputGrad(i0+a, i0+b, scratch)
			}
		}
	}
}

// gather copies the pixels the convolution reads of images [i0, i1) of x
// to buf, one row of Cin values per output pixel, and returns the rows.
func (c *Conv2d) gather(buf, x []float32, i0, i1 int) []float32 {
	out, cin, step := c.Out, c.In.C, c.Win.Stride*c.In.C
	rows := buf[:(i1-i0)*out.H*out.W*cin]
	p := 0
	for r := i0 * out.H; r < i1*out.H; r++ { // output rows: sampled divides once per row
		at := c.sampled(r * out.W)
		for ow := range out.W {
			copy(rows[p*cin:][:cin], x[at+ow*step:])
			p++
		}
	}
	return rows
}

// sampled is the offset, in x or dx, of the input pixel that output pixel p
// of the batch reads.
func (c *Conv2d) sampled(p int) int {
	in, out, s := c.In, c.Out, c.Win.Stride
	img, oh, ow := p/(out.H*out.W), p%(out.H*out.W)/out.W, p%out.W
	return ((img*in.H+oh*s)*in.W + ow*s) * in.C
}

// forward computes y for the gathered rows, output rows r0 onward: each
// tile straight into y, whose rows are contiguous. An overlapping last
// tile writes its shared rows again, with the same values.
func (t *stridedTask) forward(rows []float32, r0 int) {
	c := t.c
	cin, cout := c.In.C, c.Out.C
	for g := range groups(len(rows) / cin) {
		r, _ := group(g, len(rows)/cin)
		for panel := range cout / tc {
			c.eng.Tile(cin, rows[r*cin:], cin, 1, c.wp[panel*cin*tc:], tc, t.y[(r0+r)*cout+panel*tc:], cout, false)
		}
	}
}

// weightGrad adds dw[co][ci] += Σ_p dy[p][co] x[p][ci] over the gathered
// rows (a unit's partial weight gradient), a block of tr output channels at
// a time.
func (t *stridedTask) weightGrad(dw, rows []float32, r0 int, scratch []float32) {
	c := t.c
	cin, cout := c.In.C, c.Out.C
	m, dy := len(rows)/cin, t.dy[r0*cout:]
	for blk := range groups(cout) {
		co0, skip := group(blk, cout)
		for panel := range cin / tc {
			if skip == 0 {
				c.eng.Tile(m, dy[co0:], 1, cout, rows[panel*tc:], cin, dw[co0*cin+panel*tc:], cin, true)
				continue
			}
			// The last block shares rows with the one before: sum in
			// scratch and add only its own.
			c.eng.Tile(m, dy[co0:], 1, cout, rows[panel*tc:], cin, scratch, tc, false)
			c.keepRows(dw[co0*cin+panel*tc:], cin, scratch, skip, true)
		}
	}
}

// inputGrad writes dx for images [i0, i1):
// each tile of dy times the weight lands on the pixels the rows were
// gathered from; the others (every pixel of a row or column not a multiple
// of the stride: with no padding each that is one is read) get zero, or
// keep their value when accumulating.
func (t *stridedTask) inputGrad(i0, i1 int, scratch []float32) {
	c := t.c
	in, out, s := c.In, c.Out, c.Win.Stride
	cin, cout := in.C, out.C
	if !t.accumulate {
		for img := i0; img < i1; img++ {
			for ih := range in.H {
				row := t.dx[(img*in.H+ih)*in.W*cin:][:in.W*cin]
				if ih%s != 0 {
					clear(row)
					continue
				}
				for iw := range in.W {
					if iw%s != 0 {
						clear(row[iw*cin:][:cin])
					}
				}
			}
		}
	}
	pix := out.H * out.W
	r0, m := i0*pix, (i1-i0)*pix
	for g := range groups(m) {
		r, skip := group(g, m)
		for panel := range cin / tc {
			c.eng.Tile(cout, t.dy[(r0+r)*cout:], cout, 1, c.Weight.Data[panel*tc:], cin, scratch, tc, false)
			for k := skip; k < tr; k++ {
				c.putRow(t.dx[c.sampled(r0+r+k)+panel*tc:][:tc], scratch[k*tc:][:tc], t.accumulate)
			}
		}
	}
}

// addPartials adds the units' weight gradients onto dst in unit order,
// over ranges of values.
type addPartials struct {
	e          *kern.Engine
	dst, parts []float32
}

func (t *addPartials) Run(lo, hi int) {
	size := len(t.dst)
	for off := 0; off < len(t.parts); off += size {
		t.e.AddTo(t.dst[lo:hi], t.parts[off+lo:off+hi])
	}
}
