package nn

import (
	"sync"

	"github.com/simclr-go/simclr/pkg/kern"
)

// The direct convolution multiplies activations without im2col. A tile of
// the GEMM micro-kernel covers one pixel position of tr images and tc
// channels: for each window tap inside the image, its A rows are those
// images' input pixel at that tap, with the channels contiguous. Taps over
// the padding are never multiplied. On the 8×8 and smaller maps of the
// ImageNet stem, lowering and folding im2col rows costs as much as the
// multiplications.
//
// The inputs of the multiplications are first copied pixel-major,
// [H][W][n][C], so that a tile's images are adjacent: in NHWC they lie a
// whole image apart, every read a new page, and the kernels stall on
// memory.
//
// Every loop runs over units of work that one thread owns whole: a
// position and a channel panel, through every image group and tap in a
// fixed order, so results do not depend on the thread count.
//
// The loops are laid out for a micro-kernel tile of tr×tc, the one every
// backend so far computes; with an engine of another tile (tiled false)
// the convolutions run through im2col and the GEMM instead.
const (
	tr = 12
	tc = 32
)

// tiled reports whether eng's micro-kernel computes the tr×tc tile the
// direct and strided loops are laid out for.
func tiled(eng *kern.Engine) bool { return eng.TileRows() == tr && eng.TileCols() == tc }

// useDirect makes the convolutions that can run directly do so. Measured
// with BenchmarkConvDirect at 512 views (ms, direct against im2col): the
// ImageNet stem's layer1 27 / 70, layer2 18 / 40, layer3 13 / 33, layer4
// 7.5 / 37; the CIFAR stem's layer1 596 / 879, layer4 275 / 448, and its
// other 3×3 layers 0.8-0.95× but for layer3.0.conv1, 221 / 211. It also
// sends the 1×1 stride-2 convolutions to the strided path (strided.go):
// the ImageNet stem's downsamples 2.5 / 3.4, 1.9 / 2.7 and 2.0 / 2.6, the
// CIFAR stem's 31 / 45, 24 / 30 and 22 / 22. A variable so that tests and
// benchmarks can compare the paths.
var useDirect = true

// canDirect reports whether a convolution can run directly: channel counts
// in whole panels, and a window wider than a pixel (a 1×1 convolution is a
// plain GEMM, or one over gathered pixels).
func canDirect(in Dims, cout int, win Window) bool {
	return win.K > 1 && in.C%tc == 0 && cout%tc == 0
}

// pairs reports whether forward, dx and dW multiply bf16 pairs: in bf16,
// except on a 1×1 map, where every image group reads the whole weight and
// bf16 measured slower (the ImageNet stem's layer4: 6.8 ms against 4.1;
// layer1 23 against 28).
func (c *Conv2d) pairs() bool { return c.prec == kern.BF16 && c.Out.H*c.Out.W > 1 }

// groups is the number of tr-image groups over n images. The last may
// be partial: it then reads the tr images ending at n and keeps only the
// rows of its own images.
func groups(n int) int { return (n + tr - 1) / tr }

// group returns the first image group g reads and how many of its rows
// belong to an earlier group (0 unless g is a partial last group).
func group(g, n int) (n0, skip int) {
	n0 = min(g*tr, n-tr)
	return n0, g*tr - n0
}

// tile is unit lo's scratch tile: each range of units run by one thread
// owns the slot of its first unit. Forward and dx sum a tile's taps there,
// in cache, rather than in the output, whose rows lie an image apart.
func (c *Conv2d) tile(lo int) []float32 { return c.tiles[lo*tr*tc:][:tr*tc] }

// keepRows writes (or adds, when add) rows [skip, tr) of the scratch tile
// t onto dst, whose rows are ld apart.
func (c *Conv2d) keepRows(dst []float32, ld int, t []float32, skip int, add bool) {
	for r := skip; r < tr; r++ {
		c.putRow(dst[r*ld:][:tc], t[r*tc:][:tc], add)
	}
}

// putRow writes src onto dst, or adds it when add.
func (c *Conv2d) putRow(dst, src []float32, add bool) {
	if add {
		c.eng.AddTo(dst, src)
	} else {
		copy(dst, src)
	}
}

// forwardDirect is Forward, directly.
func (c *Conv2d) forwardDirect(y, x []float32, n int) {
	// In bf16 the packed weight is interleaved to [panel][tap][Cin/2][tc]
	// pairs of consecutive Cin.
	c.packWeight()
	kk, cin, bf16 := c.Win.K*c.Win.K, c.In.C, c.pairs()
	if bf16 {
		if c.wp16 == nil {
			c.wp16 = make([]uint32, len(c.wp)/2)
		}
		for panel := range c.Out.C / tc {
			for _, t := range c.taps {
				pt := panel*kk + t
				for i := 0; i < cin; i += 2 {
					rows := c.wp[(pt*cin+i)*tc:]
					c.eng.InterleaveBF16(c.wp16[(pt*cin+i)/2*tc:][:tc], rows[:tc], rows[tc:2*tc])
				}
			}
		}
	}
	c.dfwd = directForward{c: c, y: y, n: n}
	if bf16 {
		xT := pairBufs.borrow(n * c.In.Image() / 2)
		defer pairBufs.giveBack(xT)
		c.dfwd.x16 = c.pixelMajorPairs(xT, x, n, c.In)
	} else {
		xT := floatBufs.borrow(n * c.In.Image())
		defer floatBufs.giveBack(xT)
		c.dfwd.x = c.pixelMajor(xT, x, n, c.In, c.In.C)
	}
	units := c.Out.H * c.Out.W * (c.Out.C / tc)
	parallel(c.eng, units, units*n*c.k, &c.dfwd)
}

// packWeight packs the weight as the micro-kernel reads B in the forward
// pass, into c.wp: [panel][tap][Cin][tc]. Taps no window keeps inside the
// image (8 of 9 on a 1×1 map) are skipped.
func (c *Conv2d) packWeight() {
	kk, cin := c.Win.K*c.Win.K, c.In.C
	for o := range c.Out.C {
		panel, j := o/tc, o%tc
		for _, t := range c.taps {
			dst := c.wp[(panel*kk+t)*cin*tc+j:]
			for i, v := range c.Weight.Data[o*c.k+t*cin:][:cin] {
				dst[i*tc] = v
			}
		}
	}
}

// directForward runs over units (output position, output channel panel);
// x, or in bf16 x16, is pixel-major.
type directForward struct {
	c    *Conv2d
	y, x []float32
	x16  []uint32
	n    int
}

func (t *directForward) Run(lo, hi int) {
	c := t.c
	in, out, win := c.In, c.Out, c.Win
	panels, kk := out.C/tc, win.K*win.K
	scratch := c.tile(lo)
	for u := lo; u < hi; u++ {
		pos, panel := u/panels, u%panels
		oh, ow := pos/out.W, pos%out.W
		for g := range groups(t.n) {
			n0, skip := group(g, t.n)
			add := false
			for kh := range win.K {
				ih, ok := win.at(oh, kh, in.H)
				if !ok {
					continue
				}
				for kw := range win.K {
					iw, ok := win.at(ow, kw, in.W)
					if !ok {
						continue
					}
					a, tap := ((ih*in.W+iw)*t.n+n0)*in.C, panel*kk+kh*win.K+kw
					if t.x16 != nil {
						c.eng.Tile16(in.C/2, t.x16[a/2:], in.C/2, 1, c.wp16[tap*in.C/2*tc:], tc, scratch, tc, add)
					} else {
						c.eng.Tile(in.C, t.x[a:], in.C, 1, c.wp[tap*in.C*tc:], tc, scratch, tc, add)
					}
					add = true
				}
			}
			if !add { // no tap inside the image: a window all padding
				clear(scratch)
			}
			c.keepRows(t.y[((n0*out.H+oh)*out.W+ow)*out.C+panel*tc:], out.Image(), scratch, skip, false)
		}
	}
}

// backwardDirect is Backward, directly: dW and, unless dx is nil, dx.
func (c *Conv2d) backwardDirect(dx, dy, x []float32, n int, accumulate bool) {
	c.dweight = directWeightGrad{c: c, n: n}
	var dyT []float32 // dy pixel-major, for dx in float32
	if c.pairs() {
		// dW sums over the images: pairs of consecutive images.
		np := (n + 1) / 2
		dyP, xP := pairBufs.borrow(np*c.Out.Image()), pairBufs.borrow(np*c.In.Image())
		defer pairBufs.giveBack(dyP)
		defer pairBufs.giveBack(xP)
		c.dweight.dy16 = c.imagePairs(dyP, dy, n, c.Out, c.Out.C)
		c.dweight.x16 = c.imagePairs(xP, x, n, c.In, tc)
	} else {
		xT := floatBufs.borrow(n * c.In.Image())
		dyT = floatBufs.borrow(n * c.Out.Image())
		defer floatBufs.giveBack(xT)
		defer floatBufs.giveBack(dyT)
		c.dweight.x, c.dweight.dy = c.pixelMajor(xT, x, n, c.In, tc), c.pixelMajor(dyT, dy, n, c.Out, c.Out.C)
	}
	units := len(c.taps) * (c.In.C / tc) // taps no window uses add nothing
	parallel(c.eng, units, units*n*c.Out.Image()*c.Out.C, &c.dweight)
	if dx == nil {
		return
	}
	c.dinput = directInputGrad{c: c, dx: dx, dy: dyT, n: n, accumulate: accumulate}
	if c.pairs() {
		// The weight as B pairs of consecutive Cout: [tap][panel][Cout/2][tc].
		cout, cin, panels := c.Out.C, c.In.C, c.In.C/tc
		if c.wq16 == nil {
			c.wq16 = make([]uint32, len(c.wp)/2)
		}
		for _, t := range c.taps {
			for panel := range panels {
				for o := 0; o < cout; o += 2 {
					lo, hi := c.Weight.Data[o*c.k+t*cin+panel*tc:], c.Weight.Data[(o+1)*c.k+t*cin+panel*tc:]
					c.eng.InterleaveBF16(c.wq16[((t*panels+panel)*cout/2+o/2)*tc:][:tc], lo[:tc], hi[:tc])
				}
			}
		}
		dy16 := pairBufs.borrow(n * c.Out.Image() / 2)
		defer pairBufs.giveBack(dy16)
		c.dinput.dy16 = c.pixelMajorPairs(dy16, dy, n, c.Out)
	}
	units = c.In.H * c.In.W * (c.In.C / tc)
	parallel(c.eng, units, units*n*c.k, &c.dinput)
}

// directInputGrad computes dx over units (input position, input channel
// panel): each tap whose window reads the position adds the gradient of
// the output pixel it came from times that tap's weight,
// dx[ci] += Σ_co dy[co] W[co][tap][ci]; dy, or in bf16 dy16, is
// pixel-major.
type directInputGrad struct {
	c          *Conv2d
	dx, dy     []float32
	dy16       []uint32
	n          int
	accumulate bool
}

func (t *directInputGrad) Run(lo, hi int) {
	c := t.c
	in, out, win := c.In, c.Out, c.Win
	panels := in.C / tc
	scratch := c.tile(lo)
	for u := lo; u < hi; u++ {
		pos, panel := u/panels, u%panels
		ih, iw := pos/in.W, pos%in.W
		for g := range groups(t.n) {
			n0, skip := group(g, t.n)
			add := false
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
					a, tap := ((oh*out.W+ow)*t.n+n0)*out.C, kh*win.K+kw
					if t.dy16 != nil {
						b := c.wq16[(tap*panels+panel)*out.C/2*tc:]
						c.eng.Tile16(out.C/2, t.dy16[a/2:], out.C/2, 1, b, tc, scratch, tc, add)
					} else {
						b := c.Weight.Data[tap*in.C+panel*tc:]
						c.eng.Tile(out.C, t.dy[a:], out.C, 1, b, c.k, scratch, tc, add)
					}
					add = true
				}
			}
			at := t.dx[((n0*in.H+ih)*in.W+iw)*in.C+panel*tc:]
			switch {
			case add:
				c.keepRows(at, in.Image(), scratch, skip, t.accumulate)
			case !t.accumulate: // no window reads this pixel
				for r := skip; r < tr; r++ {
					clear(at[r*in.Image():][:tc])
				}
			}
		}
	}
}

// directWeightGrad adds dW over units (used tap, input channel panel): for each
// block of tr output channels, dW[co][tap][ci] += Σ over images and the
// output positions whose window has the tap inside the image of
// dy[co] x[ci]. The images are the sum's steps, so each tile's reduction
// is long; dy is pixel-major, x pixel-major in panels of tc; in bf16,
// dy16 and x16 are the same over pairs of images.
type directWeightGrad struct {
	c         *Conv2d
	dy, x     []float32
	dy16, x16 []uint32
	n         int
}

func (t *directWeightGrad) Run(lo, hi int) {
	c := t.c
	in, out, win := c.In, c.Out, c.Win
	panels, dw := in.C/tc, c.Weight.Grad
	steps := t.n // of the sum: images, or pairs of them
	if t.x16 != nil {
		steps = (t.n + 1) / 2
	}
	scratch := c.tile(lo)
	for u := lo; u < hi; u++ {
		tap, panel := c.taps[u/panels], u%panels
		kh, kw := tap/win.K, tap%win.K
		first := true // for the partial block's scratch tile
		// Positions outside the blocks: a position's x panel, all images,
		// then serves every block from cache.
		for oh := range out.H {
			ih, ok := win.at(oh, kh, in.H)
			if !ok {
				continue
			}
			for ow := range out.W {
				iw, ok := win.at(ow, kw, in.W)
				if !ok {
					continue
				}
				b := (ih*in.W+iw)*steps*in.C + panel*steps*tc
				for blk := range groups(out.C) {
					co0, skip := group(blk, out.C)
					a := (oh*out.W+ow)*steps*out.C + co0
					dst, ld, add := dw[co0*c.k+tap*in.C+panel*tc:], c.k, true
					if skip > 0 {
						dst, ld, add = scratch, tc, !first
					}
					if t.x16 != nil {
						c.eng.Tile16(steps, t.dy16[a:], 1, out.C, t.x16[b:], tc, dst, ld, add)
					} else {
						c.eng.Tile(steps, t.dy[a:], 1, out.C, t.x[b:], tc, dst, ld, add)
					}
				}
				first = false
			}
		}
		if co0, skip := group(groups(out.C)-1, out.C); skip > 0 && !first {
			c.keepRows(dw[co0*c.k+tap*in.C+panel*tc:], c.k, scratch, skip, true)
		}
	}
}

// pixelMajor copies n images of t, [n][H][W][C], to dst pixel-major in
// channel panels of width values, [H][W][C/width][n][width], and returns
// it. With width C that is [H][W][n][C]; the weight gradient reads x in
// panels of tc, so that each of its steps reads one contiguous panel row.
func (c *Conv2d) pixelMajor(dst, t []float32, n int, d Dims, width int) []float32 {
	c.transpose = transposeTask{e: c.eng, dst: dst, src: t, n: n, pixels: d.H * d.W, ch: d.C, width: width}
	parallel(c.eng, d.H*d.W, n*d.Image(), &c.transpose)
	return dst
}

// pixelMajorPairs is pixelMajor in one panel to bf16 pairs of consecutive
// channels.
func (c *Conv2d) pixelMajorPairs(dst []uint32, t []float32, n int, d Dims) []uint32 {
	c.transpose = transposeTask{e: c.eng, pairs: dst, src: t, n: n, pixels: d.H * d.W, ch: d.C, width: d.C}
	parallel(c.eng, d.H*d.W, n*d.Image(), &c.transpose)
	return dst
}

// imagePairs is pixelMajor to bf16 pairs of consecutive images,
// [H][W][C/width][(n+1)/2][width] (an odd last image paired with zeros):
// the weight gradient's steps are the images.
func (c *Conv2d) imagePairs(dst []uint32, t []float32, n int, d Dims, width int) []uint32 {
	c.pairImages = imagePairsTask{e: c.eng, dst: dst, src: t, n: n, pixels: d.H * d.W, ch: d.C, width: width}
	parallel(c.eng, d.H*d.W, n*d.Image(), &c.pairImages)
	return dst
}

// imagePairsTask is imagePairs over pixels.
type imagePairsTask struct {
	e                    *kern.Engine
	dst                  []uint32
	src                  []float32
	n, pixels, ch, width int
}

func (t *imagePairsTask) Run(lo, hi int) {
	panels, np := t.ch/t.width, (t.n+1)/2
	for p := lo; p < hi; p++ {
		for q := range np {
			even := t.src[(2*q*t.pixels+p)*t.ch:][:t.ch]
			var odd []float32 // nil past an odd n: zeros
			if 2*q+1 < t.n {
				odd = t.src[((2*q+1)*t.pixels+p)*t.ch:][:t.ch]
			}
			for b := range panels {
				var h []float32
				if odd != nil {
					h = odd[b*t.width:][:t.width]
				}
				t.e.InterleaveBF16(t.dst[((p*panels+b)*np+q)*t.width:][:t.width], even[b*t.width:][:t.width], h)
			}
		}
	}
}

// transposeTask is pixelMajor (or pixelMajorPairs, to pairs) over pixels.
type transposeTask struct {
	e                    *kern.Engine
	dst, src             []float32
	pairs                []uint32
	n, pixels, ch, width int
}

func (t *transposeTask) Run(lo, hi int) {
	panels := t.ch / t.width
	for p := lo; p < hi; p++ {
		for i := range t.n {
			src := t.src[(i*t.pixels+p)*t.ch:][:t.ch]
			if t.pairs != nil {
				t.e.PackBF16(t.pairs[(p*t.n+i)*t.ch/2:][:t.ch/2], src)
				continue
			}
			for b := range panels {
				copy(t.dst[((p*panels+b)*t.n+i)*t.width:][:t.width], src[b*t.width:])
			}
		}
	}
}

// floatBufs and pairBufs lend the direct convolutions their pixel-major
// copies. A layer needs them only within its own call, so a model needs as
// many as run at once (three, in bf16 backward), not a set per layer: 1 GB
// less for the CIFAR stem at 512 views.
var (
	floatBufs bufPool[float32]
	pairBufs  bufPool[uint32]
)

type bufPool[T float32 | uint32] struct {
	sync.Mutex
	free [][]T
}

// borrow returns a buffer of n values, the largest free one if it is big
// enough (a smaller one is dropped for a new one, so that the buffers grow
// to the largest layer and then stop).
func (l *bufPool[T]) borrow(n int) []T {
	l.Lock()
	defer l.Unlock()
	best := -1
	for i, b := range l.free {
		if best < 0 || cap(b) > cap(l.free[best]) {
			best = i
		}
	}
	if best < 0 {
		return make([]T, n)
	}
	b := l.free[best]
	l.free = append(l.free[:best], l.free[best+1:]...)
	if cap(b) < n {
		return make([]T, n)
	}
	return b[:n]
}

func (l *bufPool[T]) giveBack(b []T) {
	l.Lock()
	l.free = append(l.free, b)
	l.Unlock()
}
