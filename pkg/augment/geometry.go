package augment

import (
	"fmt"
	"math"
)

// tap is the bilinear source of one output coordinate: two input positions
// and the weight of the first in 64ths (the second weighs 64 - w0).
type tap struct{ i0, i1, w0 uint8 }

// taps[n][o] maps output coordinate o to an input of length n (1..Size) as
// torch's upsample_bilinear2d with align_corners=False does: the source
// coordinate n/Size*(o+0.5)-0.5, clamped at 0. That coordinate is a multiple
// of 1/64, so torch's float32 arithmetic is exact and integer weights in 64ths
// reproduce it bit for bit.
var taps = func() (t [Size + 1][Size]tap) {
	for n := 1; n <= Size; n++ {
		for o := range Size {
			src := max(n*(2*o+1)-Size, 0) // 64 * source coordinate
			i0 := src / 64
			t[n][o] = tap{uint8(i0), uint8(min(i0+1, n-1)), uint8(64 - (src - 64*i0))}
		}
	}
	return t
}()

// ResizedCrop writes to dst the box of src at (top, left) of the given height
// and width, resized to Size x Size with bilinear interpolation, like
// torchvision's F.resized_crop on a uint8 tensor (antialiasing is moot: the
// box is never larger than the output). dst and src must not overlap.
func ResizedCrop(dst, src []uint8, top, left, height, width int) {
	if top < 0 || left < 0 || height < 1 || width < 1 || top+height > Size || left+width > Size {
		panic(fmt.Sprintf("augment: crop box %dx%d at (%d, %d) outside the %dx%d image", height, width, top, left, Size, Size))
	}
	// Separably: each row of the box resampled across (exact in 64ths, so
	// uint16 holds it), then pairs of those rows resampled down.
	ty, tx := &taps[height], &taps[width]
	var rows [Size][Size]uint16
	for c := range Channels {
		in := src[c*Plane : (c+1)*Plane]
		for y := range height {
			row, across := in[(top+y)*Size+left:][:width], &rows[y]
			for x, t := range tx {
				across[x] = uint16(row[t.i0])*uint16(t.w0) + uint16(row[t.i1])*(64-uint16(t.w0))
			}
		}
		out := dst[c*Plane : (c+1)*Plane]
		for y, t := range ty {
			r0, r1 := &rows[t.i0], &rows[t.i1]
			w0 := uint32(t.w0)
			row := out[y*Size:][:Size]
			for x := range row {
				row[x] = roundShift12(uint32(r0[x])*w0 + uint32(r1[x])*(64-w0))
			}
		}
	}
}

// roundShift12 returns v/4096 rounded half to even, as torch.round does
// before the cast back to uint8: adding 2047 plus the low bit of the
// quotient carries exactly when the remainder is over half, or half with an
// odd quotient. Branch-free, as remainders are unpredictable.
func roundShift12(v uint32) uint8 {
	return uint8((v + 2047 + (v>>12)&1) >> 12)
}

// HFlip mirrors img left to right in place.
func HFlip(img []uint8) {
	for y := range Channels * Size {
		row := img[y*Size : (y+1)*Size]
		for i, j := 0, Size-1; i < j; i, j = i+1, j-1 {
			row[i], row[j] = row[j], row[i]
		}
	}
}

// GaussianBlur blurs img in place with a 3x3 Gaussian kernel of the given
// sigma and reflected borders, like torchvision's F.gaussian_blur(img, [3, 3],
// [sigma, sigma]) on a uint8 tensor.
func GaussianBlur(img []uint8, sigma float64) {
	// torchvision builds the 1-D kernel [e, 1, e]/(e+1+e) in float32 with
	// e = exp(-0.5*(1/sigma)^2), and the 2-D kernel as its outer product:
	// centre, edge and corner weights. Summing the neighbours of each weight
	// first keeps the float32 result within rounding of torch's convolution.
	x := 1 / float32(sigma)
	e := float32(math.Exp(float64(-0.5 * (x * x))))
	sum := e + 1 + e
	k0, k1 := e/sum, 1/sum
	wc, we, wd := k1*k1, k0*k1, k0*k0

	// Each plane is copied into a frame one pixel wider on every side, filled
	// by reflection, so that every pixel has all eight neighbours.
	const w = Size + 2
	var in [w * w]uint8
	for c := range Channels {
		p := img[c*Plane : (c+1)*Plane]
		for y := -1; y <= Size; y++ {
			row := p[reflect(y)*Size:][:Size]
			framed := in[(y+1)*w:][:w]
			copy(framed[1:], row)
			framed[0], framed[w-1] = row[1], row[Size-2]
		}
		for y := range Size {
			up, mid, down := in[y*w:][:w], in[(y+1)*w:][:w], in[(y+2)*w:][:w]
			out := p[y*Size:][:Size]
			for x := range out {
				edge := uint32(up[x+1]) + uint32(down[x+1]) + uint32(mid[x]) + uint32(mid[x+2])
				corner := uint32(up[x]) + uint32(up[x+2]) + uint32(down[x]) + uint32(down[x+2])
				v := float32(wc*float32(mid[x+1])) + float32(we*float32(edge)) + float32(wd*float32(corner))
				out[x] = uint8(min(math.RoundToEven(float64(v)), 255))
			}
		}
	}
}

// reflect maps an index one step outside [0, Size) back inside, as torch's
// "reflect" padding does (the edge itself is not repeated).
func reflect(i int) int {
	switch {
	case i < 0:
		return -i
	case i >= Size:
		return 2*(Size-1) - i
	}
	return i
}
