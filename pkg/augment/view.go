package augment

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"sync"
)

// Params are the random choices behind one view. Apply is a pure function
// of them, so a view can be reproduced, or built by hand for tests.
type Params struct {
	Top, Left, Height, Width int // crop box in the source image
	Flip                     bool
	Jitter                   bool          // whether colour jitter runs at all
	Order                    [4]Adjustment // the order the adjustments run in
	Factors                  [4]float64    // indexed by Adjustment; identity factors are skipped
	Gray                     bool
	Blur                     bool
	Sigma                    float64
}

// Sample draws the parameters of view number view of image index in the given
// epoch. The draws follow torchvision's order and distributions (the
// generator differs): RandomResizedCrop.get_params, flip, RandomApply of
// ColorJitter.get_params, grayscale, RandomApply of GaussianBlur.
func (c Config) Sample(seed uint64, epoch, index, view int) Params {
	r := newStream(seed, epoch, index, view)
	var p Params
	p.Top, p.Left, p.Height, p.Width = c.cropBox(&r)
	p.Flip = r.float() < c.FlipP
	for a := range p.Factors {
		p.Order[a] = Adjustment(a)
		p.Factors[a] = Adjustment(a).Identity()
	}
	if p.Jitter = !(c.JitterP < r.float()); p.Jitter {
		// torch.randperm(4), then each enabled factor in turn.
		for i := len(p.Order) - 1; i > 0; i-- {
			j := r.intN(i + 1)
			p.Order[i], p.Order[j] = p.Order[j], p.Order[i]
		}
		for a, s := range [3]float64{c.Brightness, c.Contrast, c.Saturation} {
			if s > 0 {
				p.Factors[a] = r.uniform(max(0, 1-s), 1+s)
			}
		}
		if c.Hue > 0 {
			p.Factors[Hue] = r.uniform(-c.Hue, c.Hue)
		}
	}
	p.Gray = r.float() < c.GrayP
	if c.Blur {
		if p.Blur = !(c.BlurP < r.float()); p.Blur {
			p.Sigma = r.uniform(c.SigmaMin, c.SigmaMax)
		}
	}
	return p
}

// cropBox is RandomResizedCrop.get_params: ten tries at a box of random area
// and log-uniform aspect ratio, then a centre crop with the ratio clamped.
func (c Config) cropBox(r *stream) (top, left, h, w int) {
	const area = Size * Size
	logMin, logMax := math.Log(c.RatioMin), math.Log(c.RatioMax)
	for range 10 {
		target := area * r.uniform(c.ScaleMin, c.ScaleMax)
		ratio := math.Exp(r.uniform(logMin, logMax))
		// Python's round() rounds half to even.
		w = int(math.RoundToEven(math.Sqrt(target * ratio)))
		h = int(math.RoundToEven(math.Sqrt(target / ratio)))
		if 0 < w && w <= Size && 0 < h && h <= Size {
			top = r.intN(Size - h + 1)
			left = r.intN(Size - w + 1)
			return top, left, h, w
		}
	}
	w, h = Size, Size
	switch {
	case 1 < c.RatioMin:
		h = int(math.RoundToEven(Size / c.RatioMin))
	case 1 > c.RatioMax:
		w = int(math.RoundToEven(Size * c.RatioMax))
	}
	return (Size - h) / 2, (Size - w) / 2, h, w
}

// Apply writes the view of src described by p to dst, in the reference
// recipe's order: crop, flip, jitter, grayscale, blur. dst and src are
// ImageLen bytes each and must not overlap.
func (p *Params) Apply(dst, src []uint8) {
	checkLen("dst", dst, ImageLen)
	checkLen("src", src, ImageLen)
	ResizedCrop(dst, src, p.Top, p.Left, p.Height, p.Width)
	if p.Flip {
		HFlip(dst)
	}
	if p.Jitter {
		for _, a := range p.Order {
			if f := p.Factors[a]; f != a.Identity() {
				a.Apply(dst, f)
			}
		}
	}
	if p.Gray {
		Grayscale(dst)
	}
	if p.Blur {
		GaussianBlur(dst, p.Sigma)
	}
}

// View writes to dst view number view of src, the image at index in the
// dataset, for the given seed and epoch. It does not allocate, and is safe
// to call from several goroutines.
func (c Config) View(dst, src []uint8, seed uint64, epoch, index, view int) {
	p := c.Sample(seed, epoch, index, view)
	p.Apply(dst, src)
}

// Batch writes views views of each image of src to dst, splitting the work
// over workers goroutines; the result does not depend on workers. src holds
// len(indices) images back to back and indices[i] is image i's dataset index.
// dst is view-major: view v of image i is image v*len(indices)+i, so the
// first len(indices) images of dst are view 0 of the batch, the next view 1,
// and so on (the [z1; z2] layout of the NT-Xent loss).
func (c Config) Batch(dst, src []uint8, seed uint64, epoch int, indices []int, views, workers int) {
	n := len(indices)
	checkLen("src", src, n*ImageLen)
	checkLen("dst", dst, n*views*ImageLen)
	total := n * views
	workers = max(1, min(workers, total))
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*total/workers, (w+1)*total/workers
		wg.Go(func() {
			for k := lo; k < hi; k++ {
				v, i := k/n, k%n
				c.View(dst[k*ImageLen:(k+1)*ImageLen], src[i*ImageLen:(i+1)*ImageLen], seed, epoch, indices[i], v)
			}
		})
	}
	wg.Wait()
}

func checkLen(name string, b []uint8, want int) {
	if len(b) != want {
		panic(fmt.Sprintf("augment: %s holds %d bytes, want %d", name, len(b), want))
	}
}

// stream is the random source of one view: a PCG seeded from a hash of
// (seed, epoch, index, view), so every view has its own reproducible stream.
type stream struct{ pcg rand.PCG }

func newStream(seed uint64, epoch, index, view int) stream {
	h := mix(seed)
	for _, x := range [...]int{epoch, index, view} {
		h = mix(h ^ uint64(x))
	}
	var s stream
	s.pcg.Seed(h, mix(h))
	return s
}

// mix is SplitMix64's finaliser.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// float returns a uniform value in [0, 1).
func (s *stream) float() float64 { return float64(s.pcg.Uint64()>>11) * 0x1p-53 }

func (s *stream) uniform(lo, hi float64) float64 { return lo + (hi-lo)*s.float() }

// intN returns a value in [0, n) by Lemire's multiply-shift; the bias, under
// n/2^64, is immaterial for n <= Size.
func (s *stream) intN(n int) int {
	hi, _ := bits.Mul64(s.pcg.Uint64(), uint64(n))
	return int(hi)
}
