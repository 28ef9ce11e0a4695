package augment

import (
	"strconv"

	"github.com/alecthomas/kong"
)

// Flags is Config as command-line flags, for the tools that augment
// (augment, pretrain) to embed; FlagVars supplies the defaults.
type Flags struct {
	CropScaleMin float64 `default:"${scale_min}" group:"Augmentation" help:"RandomResizedCrop: smallest area fraction."`
	CropScaleMax float64 `default:"${scale_max}" group:"Augmentation" help:"RandomResizedCrop: largest area fraction."`
	CropRatioMin float64 `default:"${ratio_min}" group:"Augmentation" help:"RandomResizedCrop: smallest aspect ratio w/h."`
	CropRatioMax float64 `default:"${ratio_max}" group:"Augmentation" help:"RandomResizedCrop: largest aspect ratio w/h."`
	FlipP        float64 `default:"${flip_p}" group:"Augmentation" help:"Probability of a horizontal flip."`
	JitterP      float64 `default:"${jitter_p}" group:"Augmentation" help:"Probability of colour jitter."`
	Brightness   float64 `default:"${brightness}" group:"Augmentation" help:"Jitter brightness strength (0.8s for strength s)."`
	Contrast     float64 `default:"${contrast}" group:"Augmentation" help:"Jitter contrast strength (0.8s)."`
	Saturation   float64 `default:"${saturation}" group:"Augmentation" help:"Jitter saturation strength (0.8s)."`
	Hue          float64 `default:"${hue}" group:"Augmentation" help:"Jitter hue strength, at most 0.5 (0.2s)."`
	GrayP        float64 `default:"${gray_p}" group:"Augmentation" help:"Probability of grayscale."`
	Blur         bool    `default:"${blur}" negatable:"" group:"Augmentation" help:"Gaussian blur (the reference recipe; the paper's CIFAR setting has none)."`
	BlurP        float64 `default:"${blur_p}" group:"Augmentation" help:"Probability of blur."`
	BlurSigmaMin float64 `default:"${sigma_min}" group:"Augmentation" help:"Smallest blur sigma."`
	BlurSigmaMax float64 `default:"${sigma_max}" group:"Augmentation" help:"Largest blur sigma."`
}

// Config is the augmentation the flags describe.
func (f Flags) Config() Config {
	return Config{
		ScaleMin: f.CropScaleMin, ScaleMax: f.CropScaleMax,
		RatioMin: f.CropRatioMin, RatioMax: f.CropRatioMax,
		FlipP:   f.FlipP,
		JitterP: f.JitterP, Brightness: f.Brightness, Contrast: f.Contrast, Saturation: f.Saturation, Hue: f.Hue,
		GrayP: f.GrayP,
		Blur:  f.Blur, BlurP: f.BlurP, SigmaMin: f.BlurSigmaMin, SigmaMax: f.BlurSigmaMax,
	}
}

// FlagVars gives Flags its defaults, those of DefaultConfig, as kong
// variables: pass it to kong.New.
func FlagVars() kong.Vars {
	c := DefaultConfig()
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	return kong.Vars{
		"scale_min": f(c.ScaleMin), "scale_max": f(c.ScaleMax),
		"ratio_min": f(c.RatioMin), "ratio_max": f(c.RatioMax),
		"flip_p":   f(c.FlipP),
		"jitter_p": f(c.JitterP), "brightness": f(c.Brightness), "contrast": f(c.Contrast),
		"saturation": f(c.Saturation), "hue": f(c.Hue),
		"gray_p": f(c.GrayP),
		"blur":   strconv.FormatBool(c.Blur), "blur_p": f(c.BlurP),
		"sigma_min": f(c.SigmaMin), "sigma_max": f(c.SigmaMax),
	}
}
