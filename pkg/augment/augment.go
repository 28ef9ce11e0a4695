// Package augment implements SimCLR's data augmentation for 32x32 RGB images
// with torchvision's semantics for uint8 tensors.
//
// Images are uint8 in CHW order: the R plane, then G, then B, each row-major,
// ImageLen bytes in all. Every transform keeps uint8 between steps, as
// torchvision does when it is given uint8 tensors, and reproduces its
// arithmetic (float32 blends truncated to uint8, round-half-even after
// resampling) so results agree with torchvision to within one intensity level.
//
// A view is a function of (seed, epoch, image index, view number) alone: each
// view draws from its own random stream, so results do not depend on how work
// is split across goroutines.
package augment

import (
	"errors"
	"fmt"
)

// Image geometry.
const (
	Size     = 32               // height and width
	Channels = 3                // R, G, B
	Plane    = Size * Size      // bytes per channel
	ImageLen = Channels * Plane // bytes per CHW image
)

// Config holds the probability and strength of every augmentation. The zero
// value is not useful; start from DefaultConfig.
type Config struct {
	// RandomResizedCrop: area fraction and aspect ratio (w/h) ranges.
	ScaleMin float64 `json:"scale_min"`
	ScaleMax float64 `json:"scale_max"`
	RatioMin float64 `json:"ratio_min"`
	RatioMax float64 `json:"ratio_max"`

	FlipP float64 `json:"flip_p"`

	// ColorJitter, applied with probability JitterP. Brightness, contrast and
	// saturation factors are drawn from [max(0, 1-x), 1+x], the hue shift
	// from [-Hue, Hue]; a zero strength disables that adjustment.
	JitterP    float64 `json:"jitter_p"`
	Brightness float64 `json:"brightness"`
	Contrast   float64 `json:"contrast"`
	Saturation float64 `json:"saturation"`
	Hue        float64 `json:"hue"`

	GrayP float64 `json:"gray_p"`

	// GaussianBlur with a 3x3 kernel. The reference recipe uses it; the
	// paper's CIFAR-10 setting does not.
	Blur     bool    `json:"blur"`
	BlurP    float64 `json:"blur_p"`
	SigmaMin float64 `json:"sigma_min"`
	SigmaMax float64 `json:"sigma_max"`
}

// DefaultConfig returns the SimCLR recipe: colour jitter strength s=0.5
// (0.8s for brightness, contrast and saturation, 0.2s for hue), blur on.
func DefaultConfig() Config {
	return Config{
		ScaleMin: 0.08, ScaleMax: 1,
		RatioMin: 3.0 / 4, RatioMax: 4.0 / 3,
		FlipP:   0.5,
		JitterP: 0.8, Brightness: 0.4, Contrast: 0.4, Saturation: 0.4, Hue: 0.1,
		GrayP: 0.2,
		Blur:  true, BlurP: 0.5, SigmaMin: 0.1, SigmaMax: 2,
	}
}

// Validate reports every out-of-range setting.
func (c Config) Validate() error {
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(0 < c.ScaleMin && c.ScaleMin <= c.ScaleMax && c.ScaleMax <= 1, "crop scale range [%g, %g]: want 0 < min <= max <= 1", c.ScaleMin, c.ScaleMax)
	check(0 < c.RatioMin && c.RatioMin <= c.RatioMax && c.RatioMax <= 100, "crop ratio range [%g, %g]: want 0 < min <= max <= 100", c.RatioMin, c.RatioMax)
	for _, p := range []struct {
		name string
		v    float64
	}{{"flip", c.FlipP}, {"jitter", c.JitterP}, {"grayscale", c.GrayP}, {"blur", c.BlurP}} {
		check(0 <= p.v && p.v <= 1, "%s probability %g: want 0..1", p.name, p.v)
	}
	check(0 <= c.Brightness && c.Brightness <= 100 && 0 <= c.Contrast && c.Contrast <= 100 && 0 <= c.Saturation && c.Saturation <= 100,
		"jitter strengths %g, %g, %g: want 0..100", c.Brightness, c.Contrast, c.Saturation)
	check(0 <= c.Hue && c.Hue <= 0.5, "hue strength %g: want 0..0.5", c.Hue)
	check(!c.Blur || 0 < c.SigmaMin && c.SigmaMin <= c.SigmaMax && c.SigmaMax <= 100, "blur sigma range [%g, %g]: want 0 < min <= max <= 100", c.SigmaMin, c.SigmaMax)
	return errors.Join(errs...)
}
