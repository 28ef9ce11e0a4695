package main

import (
	"fmt"
	"math"
	"os"
	"strings"

	"github.com/alecthomas/kong"

	"github.com/simclr-go/simclr/pkg/flagcheck"
	"github.com/simclr-go/simclr/pkg/train"
)

// validate checks every numeric flag before any work: zero, negative,
// non-finite and absurd values are refused, all of them at once.
func (c *cli) validate() error {
	var s flagcheck.Set
	s.Int("epochs", c.Epochs, 1, flagcheck.MaxEpochs)
	s.Int("batch", c.Batch, 2, flagcheck.MaxBatch)
	s.Float("tau", float64(c.Tau), 0, 100, true)
	s.Float("lr", float64(c.LR), 0, 10, true)
	s.Float("momentum", float64(c.Momentum), 0, 1, false)
	s.Float("weight-decay", float64(c.WeightDecay), 0, 1, false)
	s.Int("warmup-epochs", c.WarmupEpochs, 0, flagcheck.MaxEpochs)
	if c.WarmupEpochs > c.Epochs && c.Resume == "" {
		s.Check(fmt.Errorf("--warmup-epochs %d: want at most --epochs (%d)", c.WarmupEpochs, c.Epochs))
	}
	s.Int("proj-hidden", c.ProjHidden, 1, flagcheck.MaxWidth)
	s.Int("proj-out", c.ProjOut, 1, flagcheck.MaxWidth)
	s.Int("save-every", c.SaveEvery, 1, flagcheck.MaxEpochs)
	s.Int("max-steps", c.MaxSteps, 0, math.MaxInt32)
	s.Int("limit", c.Limit, 0, math.MaxInt32)
	s.Int("threads", c.Threads, 0, flagcheck.MaxThreads)
	s.Int("monitor-every", c.MonitorEvery, 1, flagcheck.MaxEpochs)
	s.Int("monitor-limit", c.MonitorLimit, 0, math.MaxInt32)
	s.Int("monitor-bank", c.MonitorBank, 0, math.MaxInt32)
	s.Int("monitor-k", c.MonitorK, 1, math.MaxInt32)
	s.Check(c.Flags.Config().Validate())
	return s.Err()
}

// setFlags is the flags given on the command line args or through the
// environment, by name: not those left at their defaults (kong marks those
// set too).
func setFlags(k *kong.Context, args []string) map[string]bool {
	given := map[string]bool{}
	for _, a := range args {
		if a == "--" {
			break
		}
		if name, ok := strings.CutPrefix(a, "--"); ok {
			name, _, _ = strings.Cut(name, "=")
			given[name] = true
		}
	}
	set := map[string]bool{}
	for _, f := range k.Flags() {
		if given[f.Name] || f.Tag.Negatable != "" && given["no-"+f.Name] {
			set[f.Name] = true
		}
		for _, env := range f.Tag.Envs {
			if _, ok := os.LookupEnv(env); ok {
				set[f.Name] = true
			}
		}
	}
	return set
}

// conflicts refuses a flag given with --resume whose value differs from the
// setting the checkpoint's run trained under: resuming continues that run
// bit for bit, so the flag would be ignored. --epochs is refused too rather
// than stretching the schedule (see the README).
func (c *cli) conflicts(set map[string]bool, run train.Config) error {
	mine := c.config()
	a, b := settings(mine), settings(run)
	var bad []string
	for _, name := range settingNames {
		if name == "precision" && c.Precision == "auto" {
			continue // auto keeps the run's, whatever it resolves to here
		}
		if set[name] && a[name] != b[name] {
			bad = append(bad, fmt.Sprintf("--%s %s (the run has %s)", name, a[name], b[name]))
		}
	}
	if len(bad) == 0 {
		return nil
	}
	return fmt.Errorf("--resume %s continues its run under its own settings; these flags differ: %s (drop them, or start a new run in another --out-dir)",
		c.Resume, strings.Join(bad, ", "))
}

// settingNames are the flags that make up train.Config, in help order.
var settingNames = []string{"objective", "stem", "epochs", "batch", "tau", "optimizer", "lr", "momentum",
	"weight-decay", "warmup-epochs", "proj-hidden", "proj-out", "seed", "precision",
	"crop-scale-min", "crop-scale-max", "crop-ratio-min", "crop-ratio-max", "flip-p", "jitter-p",
	"brightness", "contrast", "saturation", "hue", "gray-p", "blur", "blur-p", "blur-sigma-min", "blur-sigma-max"}

// settings is cfg as the flags would spell it.
func settings(cfg train.Config) map[string]string {
	a := cfg.Augment
	v := func(x any) string { return fmt.Sprint(x) }
	return map[string]string{
		"objective": cfg.Objective, "stem": cfg.Stem, "epochs": v(cfg.Epochs), "batch": v(cfg.Batch),
		"tau": v(cfg.Tau), "optimizer": cfg.Optimizer, "lr": v(cfg.LR), "momentum": v(cfg.Momentum),
		"weight-decay": v(cfg.WeightDecay), "warmup-epochs": v(cfg.WarmupEpochs),
		"proj-hidden": v(cfg.ProjHidden), "proj-out": v(cfg.ProjOut), "seed": v(cfg.Seed), "precision": string(cfg.Precision()),
		"crop-scale-min": v(a.ScaleMin), "crop-scale-max": v(a.ScaleMax),
		"crop-ratio-min": v(a.RatioMin), "crop-ratio-max": v(a.RatioMax),
		"flip-p": v(a.FlipP), "jitter-p": v(a.JitterP), "brightness": v(a.Brightness),
		"contrast": v(a.Contrast), "saturation": v(a.Saturation), "hue": v(a.Hue), "gray-p": v(a.GrayP),
		"blur": v(a.Blur), "blur-p": v(a.BlurP), "blur-sigma-min": v(a.SigmaMin), "blur-sigma-max": v(a.SigmaMax),
	}
}
