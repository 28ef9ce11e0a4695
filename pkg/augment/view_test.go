package augment

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

// testImage returns a colourful image that no adjustment but grayscale
// turns gray.
func testImage(seed int) []uint8 {
	img := make([]uint8, ImageLen)
	for i := range Plane {
		y, x := i/Size, i%Size
		img[i] = uint8(8*x + seed)
		img[Plane+i] = uint8(8*y + 3*seed)
		img[2*Plane+i] = uint8(255 - 4*(x+y) + 7*seed)
	}
	return img
}

func isGray(img []uint8) bool {
	return bytes.Equal(img[:Plane], img[Plane:2*Plane]) && bytes.Equal(img[:Plane], img[2*Plane:])
}

func TestDistributions(t *testing.T) {
	c := DefaultConfig()
	const n = 20000
	var flips, jitters, grays, blurs int
	var minArea, maxArea, sumLogRatio = 1.0, 0.0, 0.0
	perms := map[[4]Adjustment]int{}
	for k := range n {
		p := c.Sample(1, 0, k, k%2)
		h, w := float64(p.Height), float64(p.Width)
		if p.Top < 0 || p.Left < 0 || p.Top+p.Height > Size || p.Left+p.Width > Size {
			t.Fatalf("view %d: box %+v outside the image", k, p)
		}
		// w and h are rounded, so allow half a pixel either way.
		area := h * w / (Size * Size)
		if (w+0.5)*(h+0.5) < c.ScaleMin*Size*Size || (w+0.5)/(h-0.5) < c.RatioMin || (w-0.5)/(h+0.5) > c.RatioMax {
			t.Fatalf("view %d: %gx%g box: area %.3f or aspect %.3f out of bounds", k, h, w, area, w/h)
		}
		minArea, maxArea = min(minArea, area), max(maxArea, area)
		sumLogRatio += math.Log(w / h)
		if p.Flip {
			flips++
		}
		if p.Jitter {
			jitters++
			perms[p.Order]++
			for a, f := range p.Factors {
				lo, hi := 0.6, 1.4
				if Adjustment(a) == Hue {
					lo, hi = -0.1, 0.1
				}
				if f < lo || f > hi {
					t.Fatalf("view %d: %v factor %g outside [%g, %g]", k, Adjustment(a), f, lo, hi)
				}
			}
		}
		if p.Gray {
			grays++
		}
		if p.Blur {
			blurs++
			if p.Sigma < 0.1 || p.Sigma > 2 {
				t.Fatalf("view %d: sigma %g", k, p.Sigma)
			}
		}
	}
	t.Logf("area fraction %.3f..%.3f, mean log aspect %.4f, %d orders", minArea, maxArea, sumLogRatio/n, len(perms))
	if minArea > 0.1 || maxArea < 0.95 || math.Abs(sumLogRatio/n) > 0.01 {
		t.Errorf("crop boxes do not span the configured range")
	}
	if len(perms) != 24 {
		t.Errorf("%d jitter orders seen, want all 24", len(perms))
	}
	for order, m := range perms {
		if want := float64(jitters) / 24; math.Abs(float64(m)-want) > 5*math.Sqrt(want) {
			t.Errorf("order %v in %d views, want about %.0f", order, m, want)
		}
	}
	for _, f := range []struct {
		name  string
		count int
		p     float64
	}{{"flip", flips, c.FlipP}, {"jitter", jitters, c.JitterP}, {"grayscale", grays, c.GrayP}, {"blur", blurs, c.BlurP}} {
		got := float64(f.count) / n
		t.Logf("%-9s in %.4f of views (p=%g)", f.name, got, f.p)
		if math.Abs(got-f.p) > 4*math.Sqrt(f.p*(1-f.p)/n) {
			t.Errorf("%s in %.4f of views, want %g", f.name, got, f.p)
		}
	}
}

// TestGrayViews checks the grayscale rate on the images themselves.
func TestGrayViews(t *testing.T) {
	c := DefaultConfig()
	src, dst := testImage(0), make([]uint8, ImageLen)
	const n = 4000
	grays := 0
	for k := range n {
		c.View(dst, src, 7, 1, k, 0)
		if isGray(dst) {
			grays++
		}
	}
	if got := float64(grays) / n; math.Abs(got-c.GrayP) > 4*math.Sqrt(c.GrayP*(1-c.GrayP)/n) {
		t.Errorf("%.3f of views gray, want %g", got, c.GrayP)
	}
}

func TestCropFallback(t *testing.T) {
	for _, tc := range []struct {
		ratioMin, ratioMax float64
		want               [4]int // top, left, height, width
	}{
		{2, 3, [4]int{8, 0, 16, 32}},
		{0.25, 0.5, [4]int{0, 8, 32, 16}},
		{0.5, 0.5, [4]int{0, 8, 32, 16}},
	} {
		// A full-image area at these ratios never fits, so all ten tries fail.
		c := DefaultConfig()
		c.ScaleMin, c.ScaleMax, c.RatioMin, c.RatioMax = 1, 1, tc.ratioMin, tc.ratioMax
		p := c.Sample(3, 0, 0, 0)
		if got := [4]int{p.Top, p.Left, p.Height, p.Width}; got != tc.want {
			t.Errorf("ratio [%g, %g]: box %v, want %v", tc.ratioMin, tc.ratioMax, got, tc.want)
		}
	}
	c := DefaultConfig()
	c.ScaleMin = 1
	if p := c.Sample(3, 0, 0, 0); p.Height != Size || p.Width != Size {
		t.Errorf("scale 1, ratio around 1: box %dx%d, want the whole image", p.Height, p.Width)
	}
}

func TestBatchDeterminism(t *testing.T) {
	c := DefaultConfig()
	indices := []int{5, 17, 3, 40000, 8, 9, 11}
	src := make([]uint8, 0, len(indices)*ImageLen)
	for i := range indices {
		src = append(src, testImage(i)...)
	}
	const views = 3
	run := func(workers int) []uint8 {
		dst := make([]uint8, len(indices)*views*ImageLen)
		c.Batch(dst, src, 42, 2, indices, views, workers)
		return dst
	}
	ref := run(1)
	for _, w := range []int{2, 4, 7, 64} {
		if !bytes.Equal(run(w), ref) {
			t.Errorf("%d workers: views differ from 1 worker", w)
		}
	}
	// The layout is view-major, and each view matches View.
	one := make([]uint8, ImageLen)
	for v := range views {
		for i, idx := range indices {
			c.View(one, src[i*ImageLen:(i+1)*ImageLen], 42, 2, idx, v)
			k := v*len(indices) + i
			if !bytes.Equal(one, ref[k*ImageLen:(k+1)*ImageLen]) {
				t.Errorf("batch image %d is not view %d of image %d", k, v, i)
			}
		}
	}
}

func TestViewsDiffer(t *testing.T) {
	c := DefaultConfig()
	base := c.Sample(1, 0, 0, 0)
	if base != c.Sample(1, 0, 0, 0) {
		t.Fatal("Sample is not deterministic")
	}
	for _, tc := range []struct {
		name               string
		seed               uint64
		epoch, index, view int
	}{
		{"seed", 2, 0, 0, 0}, {"epoch", 1, 1, 0, 0}, {"index", 1, 0, 1, 0}, {"view", 1, 0, 0, 1},
	} {
		if c.Sample(tc.seed, tc.epoch, tc.index, tc.view) == base {
			t.Errorf("changing the %s does not change the view", tc.name)
		}
	}
}

func TestViewAllocs(t *testing.T) {
	c := DefaultConfig()
	src, dst := testImage(1), make([]uint8, ImageLen)
	k := 0
	if a := testing.AllocsPerRun(200, func() { c.View(dst, src, 1, 0, k, 0); k++ }); a != 0 {
		t.Errorf("View allocates %g times per call", a)
	}
}

func TestTransformIdentities(t *testing.T) {
	src := testImage(3)
	for _, tc := range []struct {
		name string
		f    func(img []uint8)
	}{
		{"full crop", func(img []uint8) { ResizedCrop(img, bytes.Clone(src), 0, 0, Size, Size) }},
		{"double flip", func(img []uint8) { HFlip(img); HFlip(img) }},
		{"brightness 1", func(img []uint8) { AdjustBrightness(img, 1) }},
		{"contrast 1", func(img []uint8) { AdjustContrast(img, 1) }},
		{"saturation 1", func(img []uint8) { AdjustSaturation(img, 1) }},
	} {
		img := bytes.Clone(src)
		tc.f(img)
		if !bytes.Equal(img, src) {
			t.Errorf("%s changes the image", tc.name)
		}
	}
}

func TestPanics(t *testing.T) {
	img := make([]uint8, ImageLen)
	for _, tc := range []struct {
		name, want string
		f          func()
	}{
		{"crop outside", "outside", func() { ResizedCrop(img, img, 20, 0, 13, 5) }},
		{"empty crop", "outside", func() { ResizedCrop(img, img, 0, 0, 0, 5) }},
		{"short dst", "dst holds", func() { DefaultConfig().View(img[:10], img, 0, 0, 0, 0) }},
		{"batch size", "src holds", func() { DefaultConfig().Batch(img, img, 0, 0, []int{1, 2}, 1, 1) }},
		{"nhwc", "ToNHWC", func() { ToNHWC(make([]float32, 3), img, CIFAR10Mean, CIFAR10Std) }},
	} {
		func() {
			defer func() {
				r, _ := recover().(string)
				if !strings.Contains(r, tc.want) {
					t.Errorf("%s: panic %q, want one mentioning %q", tc.name, r, tc.want)
				}
			}()
			tc.f()
		}()
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string // "" for valid
	}{
		{"default", func(*Config) {}, ""},
		{"no blur ignores sigma", func(c *Config) { c.Blur, c.SigmaMin = false, 0 }, ""},
		{"zero jitter", func(c *Config) { c.Brightness, c.Contrast, c.Saturation, c.Hue = 0, 0, 0, 0 }, ""},
		{"scale", func(c *Config) { c.ScaleMin = 0 }, "crop scale"},
		{"ratio", func(c *Config) { c.RatioMin, c.RatioMax = 2, 1 }, "crop ratio"},
		{"probability", func(c *Config) { c.GrayP = 1.5 }, "grayscale probability"},
		{"strength", func(c *Config) { c.Contrast = -1 }, "jitter strengths"},
		{"hue", func(c *Config) { c.Hue = 0.6 }, "hue strength"},
		{"sigma", func(c *Config) { c.SigmaMin = 3 }, "blur sigma"},
		{"scale above 1", func(c *Config) { c.ScaleMax = 1.5 }, "crop scale range [0.08, 1.5]"},
		{"scale NaN", func(c *Config) { c.ScaleMin = math.NaN() }, "crop scale"},
		{"ratio infinite", func(c *Config) { c.RatioMax = math.Inf(1) }, "crop ratio"},
		{"strength infinite", func(c *Config) { c.Brightness = math.Inf(1) }, "jitter strengths"},
		{"strength NaN", func(c *Config) { c.Saturation = math.NaN() }, "jitter strengths"},
		{"probability NaN", func(c *Config) { c.FlipP = math.NaN() }, "flip probability"},
		{"sigma infinite", func(c *Config) { c.SigmaMax = math.Inf(1) }, "blur sigma"},
	} {
		c := DefaultConfig()
		tc.edit(&c)
		err := c.Validate()
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: Validate() = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestToNHWC(t *testing.T) {
	src := append(testImage(0), testImage(5)...)
	dst := make([]float32, len(src))
	ToNHWC(dst, src, CIFAR10Mean, CIFAR10Std)
	for n := range 2 {
		for c := range Channels {
			for _, i := range []int{0, 33, Plane - 1} {
				v := src[n*ImageLen+c*Plane+i]
				want := (float32(v)/255 - CIFAR10Mean[c]) / CIFAR10Std[c]
				if got := dst[n*ImageLen+i*Channels+c]; got != want {
					t.Errorf("image %d channel %d pixel %d: %g, want %g", n, c, i, got, want)
				}
			}
		}
	}
}

func BenchmarkView(b *testing.B) {
	c := DefaultConfig()
	src, dst := testImage(2), make([]uint8, ImageLen)
	k := 0
	for b.Loop() {
		c.View(dst, src, 1, 0, k, 0)
		k++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "views/s")
}

func BenchmarkTransforms(b *testing.B) {
	src := testImage(2)
	img := make([]uint8, ImageLen)
	for _, bc := range []struct {
		name string
		f    func()
	}{
		{"crop", func() { ResizedCrop(img, src, 5, 7, 20, 17) }},
		{"flip", func() { HFlip(img) }},
		{"brightness", func() { AdjustBrightness(img, 1.1) }},
		{"contrast", func() { AdjustContrast(img, 0.9) }},
		{"saturation", func() { AdjustSaturation(img, 1.2) }},
		{"hue", func() { AdjustHue(img, 0.05) }},
		{"grayscale", func() { Grayscale(img) }},
		{"blur", func() { GaussianBlur(img, 1) }},
		{"sample", func() { DefaultConfig().Sample(1, 2, 3, 4) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				copy(img, src)
				bc.f()
			}
		})
	}
}

func TestRoundShift12(t *testing.T) {
	for v := range uint32(255*4096 + 1) {
		if got, want := roundShift12(v), uint8(math.RoundToEven(float64(v)/4096)); got != want {
			t.Fatalf("roundShift12(%d) = %d, want %d", v, got, want)
		}
	}
}
