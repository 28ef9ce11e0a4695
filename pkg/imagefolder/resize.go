package imagefolder

import (
	"image"
	"image/color"
	"math"
)

// Size is the side of the square images the table holds.
const Size = 32

// Geometry is how an image of w×h pixels becomes Size×Size, as torchvision's
// Resize(Size) then CenterCrop(Size) do it on a PIL image: the shorter side
// is scaled to Size and the longer one to int(Size*long/short) (Python's
// truncation), then the centre Size×Size is cut out at offsets rounded half
// to even, as Python's round does.
type Geometry struct {
	ResizedW, ResizedH int
	Left, Top          int
}

// GeometryOf returns the geometry for a w×h image.
func GeometryOf(w, h int) Geometry {
	var g Geometry
	if w <= h {
		g.ResizedW, g.ResizedH = Size, int(float64(Size)*float64(h)/float64(w))
	} else {
		g.ResizedW, g.ResizedH = int(float64(Size)*float64(w)/float64(h)), Size
	}
	g.Left = int(math.RoundToEven(float64(g.ResizedW-Size) / 2))
	g.Top = int(math.RoundToEven(float64(g.ResizedH-Size) / 2))
	return g
}

// ToCHW resizes and crops img (see Geometry) into dst, Size*Size*3 bytes in
// CHW order: the red plane, then green, then blue. The resampling is
// Pillow's bilinear filter (Image.resize with Resampling.BILINEAR, what
// torchvision's Resize uses by default), antialiased when shrinking: a
// triangle whose support grows with the scale factor, evaluated in Pillow's
// 22-bit fixed point, horizontal pass first into 8-bit rows, then vertical.
func ToCHW(dst []uint8, img image.Image) {
	w, h, rgb := toRGB(img)
	g := GeometryOf(w, h)
	out := resample(rgb, w, h, g.ResizedW, g.ResizedH)
	plane := Size * Size
	for y := range Size {
		for x := range Size {
			p := out[((g.Top+y)*g.ResizedW+g.Left+x)*3:]
			dst[y*Size+x] = p[0]
			dst[plane+y*Size+x] = p[1]
			dst[2*plane+y*Size+x] = p[2]
		}
	}
}

// toRGB returns img's pixels as interleaved 8-bit RGB, as Pillow's
// convert("RGB") gives them: alpha dropped (colours as stored, not
// composited), grey replicated, 16-bit samples cut to their high byte.
func toRGB(img image.Image) (w, h int, rgb []uint8) {
	b := img.Bounds()
	w, h = b.Dx(), b.Dy()
	rgb = make([]uint8, w*h*3)
	i := 0
	switch m := img.(type) {
	case *image.YCbCr:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				yi, ci := m.YOffset(x, y), m.COffset(x, y)
				rgb[i], rgb[i+1], rgb[i+2] = color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				i += 3
			}
		}
	case *image.NRGBA:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := range w {
				copy(rgb[i:i+3], row[4*x:4*x+3])
				i += 3
			}
		}
	case *image.Gray:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, y):]
			for x := range w {
				rgb[i], rgb[i+1], rgb[i+2] = row[x], row[x], row[x]
				i += 3
			}
		}
	default:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				c := color.NRGBA64Model.Convert(img.At(x, y)).(color.NRGBA64)
				rgb[i], rgb[i+1], rgb[i+2] = uint8(c.R>>8), uint8(c.G>>8), uint8(c.B>>8)
				i += 3
			}
		}
	}
	return w, h, rgb
}

// precision is Pillow's PRECISION_BITS for 8-bit images.
const precision = 32 - 8 - 2

// coeffs is Pillow's precompute_coeffs for the bilinear filter over the
// whole input, followed by normalize_coeffs_8bpc: for each output position,
// the first input position it reads, how many, and their fixed-point weights.
type coeffs struct {
	ksize  int
	bounds []int // xmin, count per output
	k      []int32
}

func bilinearCoeffs(inSize, outSize int) coeffs {
	scale := float64(inSize) / float64(outSize)
	filterscale := max(scale, 1)
	support := 1.0 * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	c := coeffs{ksize: ksize, bounds: make([]int, 2*outSize), k: make([]int32, outSize*ksize)}
	w := make([]float64, ksize)
	for xx := range outSize {
		center := (float64(xx) + 0.5) * scale
		ss := 1 / filterscale
		xmin := max(int(center-support+0.5), 0)
		xmax := min(int(center+support+0.5), inSize) - xmin
		ww := 0.0
		for x := range xmax {
			t := math.Abs((float64(x+xmin) - center + 0.5) * ss)
			w[x] = 0
			if t < 1 {
				w[x] = 1 - t
			}
			ww += w[x]
		}
		for x := range xmax {
			if ww != 0 {
				w[x] /= ww
			}
			v := w[x] * (1 << precision)
			if v < 0 {
				c.k[xx*ksize+x] = int32(-0.5 + v)
			} else {
				c.k[xx*ksize+x] = int32(0.5 + v)
			}
		}
		c.bounds[2*xx], c.bounds[2*xx+1] = xmin, xmax
	}
	return c
}

func clip8(v int64) uint8 {
	switch {
	case v >= 1<<precision<<8:
		return 255
	case v <= 0:
		return 0
	}
	return uint8(v >> precision)
}

// resample is Pillow's ImagingResample with the bilinear filter on an RGB
// image: a horizontal pass over the rows the vertical pass will read, then
// a vertical pass, each skipped when that dimension keeps its size.
func resample(rgb []uint8, w, h, ow, oh int) []uint8 {
	if ow != w {
		c := bilinearCoeffs(w, ow)
		out := make([]uint8, ow*h*3)
		for y := range h {
			in := rgb[y*w*3:]
			for xx := range ow {
				xmin, n := c.bounds[2*xx], c.bounds[2*xx+1]
				k := c.k[xx*c.ksize:]
				for ch := range 3 {
					ss := int64(1) << (precision - 1)
					for x := range n {
						ss += int64(in[(xmin+x)*3+ch]) * int64(k[x])
					}
					out[(y*ow+xx)*3+ch] = clip8(ss)
				}
			}
		}
		rgb, w = out, ow
	}
	if oh != h {
		c := bilinearCoeffs(h, oh)
		out := make([]uint8, w*oh*3)
		for yy := range oh {
			ymin, n := c.bounds[2*yy], c.bounds[2*yy+1]
			k := c.k[yy*c.ksize:]
			for i := range w * 3 {
				ss := int64(1) << (precision - 1)
				for y := range n {
					ss += int64(rgb[(ymin+y)*w*3+i]) * int64(k[y])
				}
				out[yy*w*3+i] = clip8(ss)
			}
		}
		rgb = out
	}
	return rgb
}
