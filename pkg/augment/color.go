package augment

import "fmt"

// Adjustment is one of ColorJitter's four adjustments.
type Adjustment uint8

// The adjustments, numbered as torchvision's ColorJitter numbers them.
const (
	Brightness Adjustment = iota
	Contrast
	Saturation
	Hue
)

var adjustmentNames = [...]string{"brightness", "contrast", "saturation", "hue"}

func (a Adjustment) String() string {
	if int(a) < len(adjustmentNames) {
		return adjustmentNames[a]
	}
	return fmt.Sprintf("Adjustment(%d)", a)
}

// Identity is the factor for which a leaves images unchanged: 1 for
// brightness, contrast and saturation, 0 for hue.
func (a Adjustment) Identity() float64 {
	if a == Hue {
		return 0
	}
	return 1
}

// Apply adjusts img in place by factor.
func (a Adjustment) Apply(img []uint8, factor float64) {
	switch a {
	case Brightness:
		AdjustBrightness(img, factor)
	case Contrast:
		AdjustContrast(img, factor)
	case Saturation:
		AdjustSaturation(img, factor)
	case Hue:
		AdjustHue(img, factor)
	default:
		panic("augment: unknown " + a.String())
	}
}

// The colour adjustments below follow torchvision's _blend for uint8:
// (ratio*img1 + (1-ratio)*img2).clamp(0, 255).to(uint8), in float32 with each
// product rounded on its own and the result truncated.

// AdjustBrightness scales img by factor in place (a blend with black).
func AdjustBrightness(img []uint8, factor float64) {
	blendConst(img, factor, 0)
}

// AdjustContrast blends img in place with the mean of its grayscale version.
func AdjustContrast(img []uint8, factor float64) {
	var gray [Plane]uint8
	grayPlane(&gray, img)
	sum := 0
	for _, v := range gray {
		sum += int(v)
	}
	blendConst(img, factor, float32(sum)/Plane)
}

// AdjustSaturation blends img in place with its grayscale version.
func AdjustSaturation(img []uint8, factor float64) {
	var gray [Plane]uint8
	grayPlane(&gray, img)
	r, s := float32(factor), float32(1-factor)
	var a, b [256]float32
	for v := range a {
		a[v], b[v] = r*float32(v), s*float32(v)
	}
	for c := range Channels {
		p := img[c*Plane : (c+1)*Plane]
		for i, v := range p {
			p[i] = clampTrunc(a[v] + b[gray[i]])
		}
	}
}

// blendConst blends every value of img with the constant c, through a table.
func blendConst(img []uint8, ratio float64, c float32) {
	r, bias := float32(ratio), float32(float32(1-ratio)*c)
	var lut [256]uint8
	for v := range lut {
		lut[v] = clampTrunc(float32(r*float32(v)) + bias)
	}
	for i, v := range img[:ImageLen] {
		img[i] = lut[v]
	}
}

// clampTrunc clamps v to [0, 255] and truncates. (Comparisons are much
// cheaper than the float min and max builtins, which order NaNs and zeros.)
func clampTrunc(v float32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// luma tables hold the ITU-R 601 terms torchvision's rgb_to_grayscale
// computes in float32: 0.2989*r + 0.587*g + 0.114*b, then truncated.
var lumaR, lumaG, lumaB = lumaTable(0.2989), lumaTable(0.587), lumaTable(0.114)

func lumaTable(w float32) (t [256]float32) {
	for v := range t {
		t[v] = w * float32(v)
	}
	return t
}

func grayPlane(gray *[Plane]uint8, img []uint8) {
	r, g, b := img[:Plane], img[Plane:2*Plane], img[2*Plane:ImageLen]
	for i := range gray {
		gray[i] = uint8(lumaR[r[i]] + lumaG[g[i]] + lumaB[b[i]])
	}
}

// Grayscale replaces img in place by its luma, repeated in all three
// channels, like rgb_to_grayscale(img, num_output_channels=3).
func Grayscale(img []uint8) {
	var gray [Plane]uint8
	grayPlane(&gray, img)
	for c := range Channels {
		copy(img[c*Plane:(c+1)*Plane], gray[:])
	}
}

// unit[v] is float32(v)/255, torchvision's conversion of uint8 to [0, 1].
var unit = func() (t [256]float32) {
	for v := range t {
		t[v] = float32(v) / 255
	}
	return t
}()

// AdjustHue rotates the hue of img in place by factor turns (-0.5..0.5)
// through HSV, in float32 like torchvision's adjust_hue: the result is scaled
// back by 255 and truncated.
func AdjustHue(img []uint8, factor float64) {
	shift := float32(factor)
	r, g, b := img[:Plane], img[Plane:2*Plane], img[2*Plane:ImageLen]
	for i := range r {
		h, s, v := rgbToHSV(r[i], g[i], b[i])
		rf, gf, bf := hsvToRGB(mod1(h+shift), s, v)
		r[i], g[i], b[i] = uint8(rf*255), uint8(gf*255), uint8(bf*255)
	}
}

// rgbToHSV follows torchvision's _rgb2hsv operation by operation on the
// channels scaled to [0, 1]. Comparing the bytes instead of their scaled
// values picks the same branches, since the scaling is increasing.
func rgbToHSV(r8, g8, b8 uint8) (h, s, v float32) {
	max8, min8 := max(r8, g8, b8), min(r8, g8, b8)
	maxc := unit[max8]
	if max8 == min8 {
		return 0, 0, maxc
	}
	cr := maxc - unit[min8]
	r, g, b := unit[r8], unit[g8], unit[b8]
	switch max8 {
	case r8:
		h = (maxc-b)/cr - (maxc-g)/cr
	case g8:
		h = 2 + (maxc-r)/cr - (maxc-b)/cr
	default:
		h = 4 + (maxc-g)/cr - (maxc-r)/cr
	}
	return mod1(h/6 + 1), cr / maxc, maxc
}

// hsvToRGB follows torchvision's _hsv2rgb operation by operation; the
// explicit float32 conversions keep products from being fused into adds.
func hsvToRGB(h, s, v float32) (r, g, b float32) {
	h6 := h * 6
	i := float32(int32(h6)) // floor, as h6 >= 0
	f := h6 - i
	p := clamp01(v * (1 - s))
	q := clamp01(v * (1 - float32(s*f)))
	t := clamp01(v * (1 - float32(s*(1-f))))
	switch int(i) % 6 {
	case 0:
		return v, t, p
	case 1:
		return q, v, p
	case 2:
		return p, v, t
	case 3:
		return p, q, v
	case 4:
		return t, p, v
	default:
		return v, p, q
	}
}

func clamp01(x float32) float32 {
	if x < 0 {
		return 0
	}
	if x > 1 {
		return 1
	}
	return x
}

// mod1 is torch's remainder(x, 1) in float32: the exact fmod (x less its
// integer part, truncated by the conversion), then plus one for a negative
// remainder (which can round up to exactly 1).
func mod1(x float32) float32 {
	m := x - float32(int32(x))
	if m < 0 {
		m++
	}
	return m
}
