// Command pretrain trains SimCLR's ResNet-18 encoder and projection head on
// an image table and writes safetensors checkpoints; with --objective
// supervised it trains the encoder and a linear classifier on the labels
// instead (the supervised baseline).
//
//	pretrain [flags] [INPUT|-]
//	augment --batch 256 --epochs 100 data/train.arrow | pretrain -
//
// Each step draws two augmented views of each of --batch images (augmented
// on a goroutine of its own, a step ahead), runs them through the encoder
// and head, and takes an optimizer step on the NT-Xent loss. INPUT may also
// be a view stream from augment (with the same --batch), whose views are
// then used as they come. Checkpoints go
// to --out-dir as simclr_epochNNN.safetensors every --save-every epochs and
// at the end; Ctrl-C saves one where the run stands and exits. --resume
// continues a run bit for bit under the checkpoint's own settings.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/simclr-go/simclr/pkg/arrowio"
	"github.com/simclr-go/simclr/pkg/augment"
	"github.com/simclr-go/simclr/pkg/kern"
	"github.com/simclr-go/simclr/pkg/plot"
	"github.com/simclr-go/simclr/pkg/progress"
	"github.com/simclr-go/simclr/pkg/train"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "pretrain: %v\n", err)
		os.Exit(1)
	}
}

type cli struct {
	Input  string `arg:"" optional:"" default:"data/train.arrow" env:"PRETRAIN_INPUT" help:"Image table (Arrow IPC file or stream; - for standard input)."`
	OutDir string `default:"runs/pretrain" env:"PRETRAIN_OUT_DIR" help:"Directory for checkpoints, the JSON-lines log and the loss curve."`
	Resume string `placeholder:"CHECKPOINT" env:"PRETRAIN_RESUME" help:"Continue the run saved in this checkpoint, under its own settings."`

	Objective    string  `default:"simclr" enum:"simclr,supervised" env:"PRETRAIN_OBJECTIVE" help:"simclr (NT-Xent over two views) or supervised (cross-entropy on labels through a Linear(512,10) 'fc', one crop-and-flip view: colour jitter, grayscale and blur off)."`
	Stem         string  `default:"imagenet" enum:"imagenet,cifar" env:"PRETRAIN_STEM" help:"Encoder stem: imagenet (7x7/2 conv + max-pool, as the reference recipe) or cifar (3x3/1 conv, the paper's CIFAR variant)."`
	Epochs       int     `default:"100" env:"PRETRAIN_EPOCHS" help:"Passes over the images."`
	Batch        int     `default:"256" env:"PRETRAIN_BATCH" help:"Images per step (two views each)."`
	Tau          float32 `default:"0.5" env:"PRETRAIN_TAU" help:"NT-Xent temperature."`
	Optimizer    string  `default:"adam" enum:"adam,sgd,lars" env:"PRETRAIN_OPTIMIZER" help:"Optimizer: adam, sgd (momentum) or lars."`
	LR           float32 `default:"3e-4" env:"PRETRAIN_LR" help:"Peak learning rate."`
	Momentum     float32 `default:"0.9" env:"PRETRAIN_MOMENTUM" help:"Momentum of sgd and lars."`
	WeightDecay  float32 `default:"0" env:"PRETRAIN_WEIGHT_DECAY" help:"Weight decay (L2; lars skips biases and batch norms)."`
	WarmupEpochs int     `default:"10" env:"PRETRAIN_WARMUP_EPOCHS" help:"Epochs of linear warmup before the cosine decay."`
	ProjHidden   int     `default:"512" env:"PRETRAIN_PROJ_HIDDEN" help:"Width of the projection head's hidden layers."`
	ProjOut      int     `default:"512" env:"PRETRAIN_PROJ_OUT" help:"Width of the projection."`
	Seed         uint64  `default:"0" env:"PRETRAIN_SEED" help:"Seed of initialisation, shuffling and augmentation."`

	SaveEvery int    `default:"10" env:"PRETRAIN_SAVE_EVERY" help:"Save a checkpoint every this many epochs (and always at the end)."`
	MaxSteps  int    `default:"0" env:"PRETRAIN_MAX_STEPS" help:"Stop after this many steps in this invocation (0: run to the end); a checkpoint is saved."`
	Limit     int    `default:"0" env:"PRETRAIN_LIMIT" help:"Train on the first N images only (0: all)."`
	Threads   int    `default:"0" env:"PRETRAIN_THREADS" help:"Cores for the kernels (0: all)."`
	BF16      bool   `name:"bf16" env:"PRETRAIN_BF16" help:"Multiply in bfloat16 with float32 accumulation (AVX512_BF16); weights, gradients and optimizer stay float32."`
	Log       string `placeholder:"FILE" env:"PRETRAIN_LOG" help:"JSON-lines log of every step and epoch (default OUT_DIR/log.jsonl)."`

	augment.Flags `embed:""`

	set map[string]bool // the flags given, not defaulted
}

func run(args []string) error {
	var c cli
	p, err := kong.New(&c, kong.Name("pretrain"),
		kong.Description("SimCLR pretraining of ResNet-18 on an image table, to safetensors checkpoints."),
		augment.FlagVars())
	if err != nil {
		return err
	}
	k, err := p.Parse(args)
	if err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return err
	}
	c.set = setFlags(k, args)
	if c.Threads > 0 {
		kern.SetThreads(c.Threads)
	}
	if err := os.MkdirAll(c.OutDir, 0o755); err != nil {
		return err
	}
	lock, err := claim(c.OutDir)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	t, err := trainer(&c)
	if err != nil {
		return err
	}
	kern.SetBF16(t.Cfg.BF16)
	defer t.Close()
	if c.Log == "" {
		c.Log = filepath.Join(c.OutDir, "log.jsonl")
	}
	logf, err := os.OpenFile(c.Log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return loop(ctx, stop, t, &c, json.NewEncoder(logf))
}

func (c *cli) config() train.Config {
	aug := c.Flags.Config()
	if c.Objective == train.ObjectiveSupervised {
		aug.JitterP, aug.GrayP, aug.Blur = 0, 0, false
	}
	return train.Config{
		Objective: c.Objective, Stem: c.Stem, Epochs: c.Epochs, Batch: c.Batch, Tau: c.Tau,
		Optimizer: c.Optimizer, LR: c.LR, Momentum: c.Momentum, WeightDecay: c.WeightDecay,
		WarmupEpochs: c.WarmupEpochs, ProjHidden: c.ProjHidden, ProjOut: c.ProjOut,
		Seed: c.Seed, Augment: aug, BF16: c.BF16,
	}
}

// trainer builds the run: fresh or resumed, over the image table read into
// memory (150 MB for CIFAR-10's training split; --limit keeps the first N
// images) or over a view stream from augment, which it reads as it trains.
func trainer(c *cli) (*train.Trainer, error) {
	r, err := arrowio.OpenImages(c.Input)
	if err != nil {
		return nil, err
	}
	var (
		data   train.Dataset
		stream *train.Stream
	)
	if train.IsStream(r) {
		if c.Limit > 0 {
			r.Close()
			return nil, fmt.Errorf("--limit applies to image tables; %s is a view stream", c.Input)
		}
		if stream, err = train.OpenStream(r, c.Input); err != nil {
			r.Close()
			return nil, err
		}
	} else {
		defer r.Close()
		if data, err = load(r, c.Input, c.Limit); err != nil {
			return nil, err
		}
	}
	var t *train.Trainer
	switch {
	case c.Resume != "":
		t, err = train.Resume(c.Resume, data, stream)
		if err == nil {
			if err = c.conflicts(c.set, t.Cfg); err != nil {
				t.Close()
				t = nil
				break
			}
			fmt.Fprintf(os.Stderr, "pretrain: resumed %s at epoch %d step %d of %d (its settings apply)\n", c.Resume, t.Epoch, t.Step, t.Cfg.Epochs)
		}
	case stream != nil:
		t, err = train.NewFromStream(c.config(), stream)
	default:
		t, err = train.New(c.config(), data)
	}
	if err != nil && stream != nil {
		r.Close()
	}
	return t, err
}

// load reads the image table r into memory, keeping the first limit images
// when limit > 0.
func load(r *arrowio.ImageReader, path string, limit int) (train.Dataset, error) {
	var d train.Dataset
	for r.Next() && (limit <= 0 || len(d.Index) < limit) {
		b := r.Batch()
		n := b.Len()
		if limit > 0 {
			n = min(n, limit-len(d.Index))
		}
		d.Index = append(d.Index, b.Index[:n]...)
		d.Label = append(d.Label, b.Label[:n]...)
		d.Pixels = append(d.Pixels, b.Pixels[:n*arrowio.ImageSize]...)
	}
	if err := r.Err(); err != nil {
		return d, err
	}
	if d.Len() == 0 {
		return d, fmt.Errorf("%s: no images", path)
	}
	return d, nil
}

// loop trains to the end, --max-steps or a signal, saving checkpoints on
// the way; a non-finite loss stops it with the last good checkpoint kept.
func loop(ctx context.Context, stop func(), t *train.Trainer, c *cli, log *json.Encoder) error {
	spe := t.StepsPerEpoch()
	views := int64(t.Views())
	bar := progress.New(progress.Stderr(), int64(t.GlobalStep()), int64(t.TotalSteps()), "views", views)
	precision := "fp32"
	if kern.BF16() {
		precision = "bf16"
	}
	fmt.Fprintf(os.Stderr, "pretrain: %s, %d images, %d steps of %d views per epoch, %d epochs, stem %s, %s, %d threads\n",
		t.Cfg.Objective, t.StepsPerEpoch()*t.Cfg.Batch, spe, views, t.Cfg.Epochs, t.Cfg.Stem, precision, kern.Threads())
	start, taken := time.Now(), 0
	epochStart := time.Now()
	for !t.Done() {
		if ctx.Err() != nil {
			stop() // a second Ctrl-C kills at once
			bar.Finish()
			path, err := save(t, c.OutDir)
			if err == nil {
				fmt.Fprintf(os.Stderr, "pretrain: interrupted; saved %s (resume with --resume %s)\n", path, path)
			}
			return err
		}
		res, err := t.TrainStep()
		if err != nil {
			bar.Finish()
			if errors.Is(err, train.ErrNonFinite) {
				return fmt.Errorf("%w; the last good checkpoint in %s is kept", err, c.OutDir)
			}
			if taken > 0 {
				// The steps taken are good (a stream that ended early, a read error):
				// keep them.
				if path, serr := save(t, c.OutDir); serr == nil {
					return fmt.Errorf("%w (saved %s; resume with --resume %s)", err, path, path)
				}
			}
			return err
		}
		taken++
		log.Encode(map[string]any{"epoch": res.Epoch + 1, "step": res.Step + 1, "global_step": res.GlobalStep + 1,
			"loss": res.Loss, "lr": res.LR, "views_per_s": round(bar.Rate(int64(t.GlobalStep())))})
		bar.Draw(int64(t.GlobalStep()), fmt.Sprintf("epoch %d/%d  step %d/%d  loss %.4f", res.Epoch+1, t.Cfg.Epochs, res.Step+1, spe, res.Loss))
		if res.EpochDone {
			secs := time.Since(epochStart).Seconds()
			epochStart = time.Now()
			log.Encode(map[string]any{"epoch": res.Epoch + 1, "mean_loss": res.EpochLoss, "seconds": round(secs)})
			if progress.Stderr() == nil {
				fmt.Fprintf(os.Stderr, "pretrain: epoch %d/%d mean loss %.4f (%.0f s, %.0f views/s)\n",
					res.Epoch+1, t.Cfg.Epochs, res.EpochLoss, secs, float64(spe)*float64(views)/secs)
			}
			if t.Epoch%c.SaveEvery == 0 || t.Done() {
				if _, err := save(t, c.OutDir); err != nil {
					return err
				}
			}
		}
		if c.MaxSteps > 0 && taken >= c.MaxSteps && !t.Done() {
			bar.Finish()
			path, err := save(t, c.OutDir)
			if err == nil {
				fmt.Fprintf(os.Stderr, "pretrain: stopped after --max-steps %d; saved %s\n", c.MaxSteps, path)
			}
			return err
		}
	}
	bar.Finish()
	elapsed := time.Since(start)
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	fmt.Fprintf(os.Stderr, "pretrain: done: %d steps in %s (%.0f views/s), peak memory %.2f GiB\n",
		taken, elapsed.Round(time.Second), float64(int64(taken)*views)/elapsed.Seconds(), float64(ru.Maxrss)/(1<<20))
	if len(t.History) > 0 {
		curve := filepath.Join(c.OutDir, "loss.png")
		if err := plot.LossCurve(curve, t.Cfg.Objective+" loss per epoch", t.History); err != nil {
			return err
		}
	}
	return nil
}

// save writes a checkpoint named for the objective and the run's position:
// simclr_epochNNN.safetensors at an epoch boundary, with _stepSSSSS inside
// one (supervised_... for the supervised objective).
func save(t *train.Trainer, dir string) (string, error) {
	name := fmt.Sprintf("%s_epoch%03d.safetensors", t.Cfg.Objective, t.Epoch)
	if t.Step > 0 {
		name = fmt.Sprintf("%s_epoch%03d_step%05d.safetensors", t.Cfg.Objective, t.Epoch, t.Step)
	}
	path := filepath.Join(dir, name)
	if err := t.Checkpoint(path); err != nil {
		return path, fmt.Errorf("checkpoint not saved: %w (nothing partial is left; the checkpoints already in %s are kept)", err, dir)
	}
	return path, nil
}

func round(v float64) float64 { return float64(int64(v*100+0.5)) / 100 }
