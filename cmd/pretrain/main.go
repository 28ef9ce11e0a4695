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
//
// The defaults are the reference recipe, train.DefaultConfig;
// --print-defaults prints every flag's default as a shell assignment
// (EPOCHS=100), and the pipelines take theirs from it.
// --monitor TABLE scores the encoder by kNN every --monitor-every epochs
// (train.Monitor), into the log beside the loss, without changing the run.
//
// Built with -tags mpi, --dist mpi trains as one rank of an mpirun job:
// the ranks share each step's batch and train as one process would (see
// train.NewDistributed); rank 0 alone writes to --out-dir.
//
//	mpirun -np 2 pretrain --dist mpi --batch 256 data/train.arrow
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kong"

	"github.com/simclr-go/simclr/pkg/arrowio"
	"github.com/simclr-go/simclr/pkg/augment"
	"github.com/simclr-go/simclr/pkg/dist"
	"github.com/simclr-go/simclr/pkg/flagdefaults"
	"github.com/simclr-go/simclr/pkg/kern"
	"github.com/simclr-go/simclr/pkg/linprobe"
	"github.com/simclr-go/simclr/pkg/model"
	"github.com/simclr-go/simclr/pkg/plot"
	"github.com/simclr-go/simclr/pkg/progress"
	"github.com/simclr-go/simclr/pkg/train"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "pretrain: %v\n", err)
		os.Exit(1)
	}
}

type cli struct {
	Input  string `arg:"" optional:"" default:"data/train.arrow" env:"PRETRAIN_INPUT" help:"Image table (Arrow IPC file or stream; - for standard input)."`
	OutDir string `default:"runs/pretrain" env:"PRETRAIN_OUT_DIR" help:"Directory for checkpoints, the JSON-lines log and the loss curve."`
	Resume string `placeholder:"CHECKPOINT" env:"PRETRAIN_RESUME" help:"Continue the run saved in this checkpoint, under its own settings (with --dist, every rank reads it: a path all of them can read)."`

	Objective    string  `default:"${objective}" enum:"simclr,supervised" env:"PRETRAIN_OBJECTIVE" help:"simclr (NT-Xent over two views) or supervised (cross-entropy on labels through a Linear(512,C) 'fc', C the table's class count, one crop-and-flip view: colour jitter, grayscale and blur off)."`
	Stem         string  `default:"${stem}" enum:"${stems}" env:"PRETRAIN_STEM" help:"Encoder stem: imagenet (7x7/2 conv + max-pool, as the reference recipe), cifar (3x3/1 conv, the paper's CIFAR variant: about 15 times the multiply-adds) or cifar-pool (3x3/1 conv + max-pool: about 4 times the multiply-adds, 5 times the time on an AVX2 CPU)."`
	Epochs       int     `default:"${epochs}" env:"PRETRAIN_EPOCHS" help:"Passes over the images."`
	Batch        int     `default:"${batch}" env:"PRETRAIN_BATCH" help:"Images per step (two views each)."`
	Tau          float32 `default:"${tau}" env:"PRETRAIN_TAU" help:"NT-Xent temperature."`
	Optimizer    string  `default:"${optimizer}" enum:"adam,sgd,lars" env:"PRETRAIN_OPTIMIZER" help:"Optimizer: adam, sgd (momentum) or lars."`
	LR           float32 `default:"${lr}" env:"PRETRAIN_LR" help:"Peak learning rate."`
	Momentum     float32 `default:"${momentum}" env:"PRETRAIN_MOMENTUM" help:"Momentum of sgd and lars."`
	WeightDecay  float32 `default:"${weight_decay}" env:"PRETRAIN_WEIGHT_DECAY" help:"Weight decay (L2; lars skips biases and batch norms)."`
	WarmupEpochs int     `default:"${warmup_epochs}" env:"PRETRAIN_WARMUP_EPOCHS" help:"Epochs of linear warmup before the cosine decay."`
	ProjHidden   int     `default:"${proj_hidden}" env:"PRETRAIN_PROJ_HIDDEN" help:"Width of the projection head's hidden layers."`
	ProjOut      int     `default:"${proj_out}" env:"PRETRAIN_PROJ_OUT" help:"Width of the projection."`
	Seed         uint64  `default:"${seed}" env:"PRETRAIN_SEED" help:"Seed of initialisation, shuffling and augmentation."`

	SaveEvery int    `default:"10" env:"PRETRAIN_SAVE_EVERY" help:"Save a checkpoint every this many epochs (and always at the end)."`
	MaxSteps  int    `default:"0" env:"PRETRAIN_MAX_STEPS" help:"Stop after this many steps in this invocation (0: run to the end); a checkpoint is saved."`
	Limit     int    `default:"0" env:"PRETRAIN_LIMIT" help:"Train on the first N images only (0: all)."`
	Threads   int    `default:"0" env:"PRETRAIN_THREADS" help:"Cores for the kernels (0: all)."`
	Backend   string `default:"auto" env:"PRETRAIN_BACKEND" help:"Compute backend: auto (the best this CPU runs) or one of those it runs: ${backends} (generic: portable Go)."`
	Precision string `default:"auto" enum:"auto,fp32,bf16" env:"PRETRAIN_PRECISION" help:"What the encoder's convolutions multiply in: auto (bf16 only where this CPU runs it faster; stderr says which and why), fp32, or bf16 (bfloat16 inputs, float32 accumulation; head, loss, weight gradients, weights and optimizer stay float32). A resumed run keeps its checkpoint's."`
	Log       string `placeholder:"FILE" env:"PRETRAIN_LOG" help:"JSON-lines log of every step and epoch (default OUT_DIR/log.jsonl)."`
	Dist      string `enum:"none,mpi" default:"none" env:"PRETRAIN_DIST" help:"none (one process), or mpi: train as one rank of an mpirun job (a pretrain built with -tags mpi), --batch being the global batch, a multiple of the ranks, split between them; every rank reads INPUT (and --resume: a file all of them can read); rank 0 writes --out-dir and runs the monitor. A run resumes with the number of ranks it started with."`

	PrintDefaults flagdefaults.Flag `help:"Print the default of every flag that has one, as shell assignments (--warmup-epochs 10 as WARMUP_EPOCHS=10), and exit."`

	eng      *kern.Engine   // what the run computes with: --backend, --threads
	prec     kern.Precision // --precision resolved on this CPU
	precNote string         // why, or a warning

	augment.Flags `embed:""`

	Monitor      string `placeholder:"TABLE" env:"PRETRAIN_MONITOR" help:"Labelled image table (e.g. data/test.arrow) on which a kNN monitor scores the encoder during training: its first --monitor-limit images, classified by a weighted vote (k=--monitor-k, T=0.1, as linprobe --knn) of the first --monitor-bank training images, both embedded in eval mode. Logged beside the loss; it does not change the training."`
	MonitorEvery int    `default:"1" env:"PRETRAIN_MONITOR_EVERY" help:"Epochs between kNN evaluations (and always after the last)."`
	MonitorLimit int    `default:"2000" env:"PRETRAIN_MONITOR_LIMIT" help:"Images of --monitor scored (0: all)."`
	MonitorBank  int    `default:"5000" env:"PRETRAIN_MONITOR_BANK" help:"Training images the kNN votes with, the first of the input (0: all)."`
	MonitorK     int    `default:"200" env:"PRETRAIN_MONITOR_K" help:"Neighbours of the monitor's kNN vote."`

	set map[string]bool // the flags given, not defaulted

	comm dist.Comm // the ranks of --dist, nil in one process
}

// lead reports whether this process speaks for the run: rank 0, or the
// only process. The others write nothing.
func (c *cli) lead() bool { return c.comm == nil || c.comm.Rank() == 0 }

// msg is where the run's messages go: stderr, for the lead process only.
func (c *cli) msg() io.Writer {
	if c.lead() {
		return os.Stderr
	}
	return io.Discard
}

// defaults gives the flags of train.Config their defaults, the reference
// recipe of train.DefaultConfig, as kong variables.
func defaults() kong.Vars {
	c := train.DefaultConfig()
	i := strconv.Itoa
	return kong.Vars{
		"objective": c.Objective, "stem": c.Stem, "epochs": i(c.Epochs), "batch": i(c.Batch), "tau": formatFloat(c.Tau),
		"optimizer": c.Optimizer, "lr": formatFloat(c.LR), "momentum": formatFloat(c.Momentum), "weight_decay": formatFloat(c.WeightDecay),
		"warmup_epochs": i(c.WarmupEpochs), "proj_hidden": i(c.ProjHidden), "proj_out": i(c.ProjOut),
		"seed": strconv.FormatUint(c.Seed, 10), "stems": strings.Join(model.Stems, ","),
		"backends": strings.Join(kern.Available(), ", "),
	}
}

// formatFloat writes v as a person would, the shorter of 0.0003 and 3e-4:
// the help shows the recipe as it is usually written, and the pipelines,
// which take their defaults from --print-defaults, record lr=3e-4 in their
// manifests as they did before, so that runs in progress still resume.
func formatFloat(v float32) string {
	g := strconv.FormatFloat(float64(v), 'g', -1, 32)
	mant, exp, _ := strings.Cut(strconv.FormatFloat(float64(v), 'e', -1, 32), "e")
	n, _ := strconv.Atoi(exp)
	if e := mant + "e" + strconv.Itoa(n); len(e) < len(g) {
		return e
	}
	return g
}

// parse parses the command line; --print-defaults prints to stdout and
// returns flagdefaults.ErrPrinted.
func parse(args []string, stdout io.Writer) (*cli, error) {
	var c cli
	p, err := kong.New(&c, kong.Name("pretrain"),
		kong.Description("SimCLR pretraining of ResNet-18 on an image table, to safetensors checkpoints."),
		defaults(), augment.FlagVars(), kong.Writers(stdout, os.Stderr))
	if err != nil {
		return nil, err
	}
	k, err := p.Parse(args)
	if err != nil {
		return nil, err
	}
	c.set = setFlags(k, args)
	return &c, nil
}

func run(args []string, stdout io.Writer) error {
	c, err := parse(args, stdout)
	if errors.Is(err, flagdefaults.ErrPrinted) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return err
	}
	if c.Dist == "mpi" {
		return distributed(c)
	}
	return pretrain(c)
}

// pretrain runs the training c describes, in this process or, with
// c.comm, as this rank.
func pretrain(c *cli) error {
	var err error
	if c.eng, c.precNote, err = kern.New(kern.Options{Backend: c.Backend, Threads: c.Threads, Precision: c.Precision}); err != nil {
		return err
	}
	c.prec = c.eng.Policy().Conv
	if c.lead() {
		if err := os.MkdirAll(c.OutDir, 0o755); err != nil {
			return err
		}
		lock, err := claim(c.OutDir)
		if err != nil {
			return err
		}
		defer lock.Unlock()
	}
	t, err := trainer(c)
	if err != nil {
		return err
	}
	defer t.Close()
	var (
		mon  *train.Monitor
		logw io.Writer = io.Discard
	)
	if c.lead() {
		if mon, err = monitor(c, t); err != nil {
			return err
		}
		if c.Log == "" {
			c.Log = filepath.Join(c.OutDir, "log.jsonl")
		}
		logf, err := os.OpenFile(c.Log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer logf.Close()
		logw = logf
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return loop(ctx, stop, t, mon, c, json.NewEncoder(logw))
}

// monitor builds the kNN monitor --monitor asks for, or nil.
func monitor(c *cli, t *train.Trainer) (*train.Monitor, error) {
	if c.Monitor == "" {
		return nil, nil
	}
	r, err := arrowio.OpenImages(c.Monitor)
	if err != nil {
		return nil, fmt.Errorf("--monitor: %w", err)
	}
	defer r.Close()
	queries, err := load(r, c.Monitor, c.MonitorLimit)
	if err != nil {
		return nil, fmt.Errorf("--monitor: %w", err)
	}
	m, err := train.NewMonitor(t, queries, c.MonitorBank, c.MonitorK, linprobe.DefaultTemperature, c.MonitorEvery)
	if err != nil {
		return nil, fmt.Errorf("--monitor: %w", err)
	}
	return m, nil
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
		Seed: c.Seed, Augment: aug, BF16: c.prec == kern.BF16,
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
		if c.comm != nil {
			r.Close()
			return nil, fmt.Errorf("--dist: %s is a view stream, which feeds one process; give every rank the image table", c.Input)
		}
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
	if c.Resume == "" && c.precNote != "" {
		fmt.Fprintf(c.msg(), "pretrain: %s\n", c.precNote)
	}
	cfg, err := c.tableConfig(r)
	var t *train.Trainer
	switch {
	case err != nil:
	case c.Resume != "" && stream != nil:
		t, err = train.Resume(c.eng, c.Resume, data, stream)
	case c.Resume != "":
		t, err = train.ResumeDistributed(c.eng, c.Resume, data, c.comm)
		if err == nil && t.Cfg.Objective == train.ObjectiveSupervised && t.Cfg.NumClasses() != len(r.ClassNames()) {
			err = fmt.Errorf("%s: its classifier has %d classes, %s %d", c.Resume, t.Cfg.NumClasses(), c.Input, len(r.ClassNames()))
			t.Close()
			t = nil
		}
		if err == nil {
			if err = c.conflicts(c.set, t.Cfg); err != nil {
				t.Close()
				t = nil
				break
			}
			fmt.Fprintf(c.msg(), "pretrain: resumed %s at epoch %d step %d of %d (its settings apply)\n", c.Resume, t.Epoch, t.Step, t.Cfg.Epochs)
		}
	case stream != nil:
		t, err = train.NewFromStream(c.eng, cfg, stream)
	default:
		t, err = train.NewDistributed(c.eng, cfg, data, c.comm)
	}
	if err != nil && stream != nil {
		r.Close()
	}
	return t, err
}

// tableConfig is the run's config with what the table decides: pixels are
// normalised with its channel statistics when it has them (else CIFAR-10's),
// and the supervised classifier has one output per class of the table, and
// needs labelled images.
func (c *cli) tableConfig(r *arrowio.ImageReader) (train.Config, error) {
	cfg := c.config()
	mean, std, ok, err := arrowio.Normalization(r.Metadata())
	if err != nil {
		return cfg, fmt.Errorf("%s: %w", c.Input, err)
	}
	if ok {
		cfg.Mean, cfg.Std = mean[:], std[:]
	}
	if cfg.Objective == train.ObjectiveSupervised {
		if !r.Labelled() {
			return cfg, fmt.Errorf("%s holds unlabelled images; the supervised objective needs labels", c.Input)
		}
		cfg.Classes = len(r.ClassNames())
	}
	return cfg, nil
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
func loop(ctx context.Context, stop func(), t *train.Trainer, mon *train.Monitor, c *cli, log *json.Encoder) error {
	spe := t.StepsPerEpoch()
	views := int64(t.Views())
	term := progress.Stderr()
	if !c.lead() {
		term = nil
	}
	bar := progress.New(term, int64(t.GlobalStep()), int64(t.TotalSteps()), "views", views)
	ranks := ""
	if c.comm != nil {
		ranks = fmt.Sprintf(" on each of %d ranks", c.comm.Size())
	}
	fmt.Fprintf(c.msg(), "pretrain: %s, %d images, %d steps of %d views per epoch, %d epochs, stem %s, %s on the %s backend, %d threads%s\n",
		t.Cfg.Objective, t.StepsPerEpoch()*t.Cfg.Batch, spe, views, t.Cfg.Epochs, t.Cfg.Stem, t.Cfg.Precision(), t.Enc.Eng.Backend().Name, t.Enc.Eng.Threads(), ranks)
	start, taken := time.Now(), 0
	epochStart := time.Now()
	knn, monSecs, monRuns := "", 0.0, 0 // the latest kNN accuracy, for the progress line
	evaluate := func() error {
		rec, err := mon.Evaluate(t)
		if err != nil {
			return err
		}
		log.Encode(rec)
		knn, monSecs, monRuns = fmt.Sprintf("  knn %.2f%%", 100*rec.Top1), monSecs+rec.Seconds, monRuns+1
		return nil
	}
	if mon != nil && t.GlobalStep() == 0 { // the initial encoder: where the curve starts
		if err := evaluate(); err != nil {
			return err
		}
		fmt.Fprintf(c.msg(), "pretrain: before training:%s\n", knn)
		epochStart = time.Now()
	}
	vote := make([]float64, 1)
	for !t.Done() {
		if stopRequested(ctx, c.comm, vote) {
			stop() // a second Ctrl-C kills at once
			bar.Finish()
			path, err := c.save(t)
			if err == nil {
				fmt.Fprintf(c.msg(), "pretrain: interrupted; saved %s (resume with --resume %s)\n", path, path)
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
				if path, serr := c.save(t); serr == nil {
					return fmt.Errorf("%w (saved %s; resume with --resume %s)", err, path, path)
				}
			}
			return err
		}
		taken++
		log.Encode(map[string]any{"epoch": res.Epoch + 1, "step": res.Step + 1, "global_step": res.GlobalStep + 1,
			"loss": res.Loss, "lr": res.LR, "views_per_s": round(bar.Rate(int64(t.GlobalStep())))})
		bar.Draw(int64(t.GlobalStep()), fmt.Sprintf("epoch %d/%d  step %d/%d  loss %.4f%s", res.Epoch+1, t.Cfg.Epochs, res.Step+1, spe, res.Loss, knn))
		if res.EpochDone {
			secs := time.Since(epochStart).Seconds()
			epochStart = time.Now()
			log.Encode(map[string]any{"epoch": res.Epoch + 1, "mean_loss": res.EpochLoss, "seconds": round(secs)})
			if mon != nil && mon.Due(t) {
				if err := evaluate(); err != nil {
					return err
				}
				epochStart = time.Now() // the epochs' times are the training's
			}
			if progress.Stderr() == nil {
				fmt.Fprintf(c.msg(), "pretrain: epoch %d/%d mean loss %.4f (%.0f s, %.0f views/s)%s\n",
					res.Epoch+1, t.Cfg.Epochs, res.EpochLoss, secs, float64(spe)*float64(views)/secs, knn)
			}
			if t.Epoch%c.SaveEvery == 0 || t.Done() {
				if _, err := c.save(t); err != nil {
					return err
				}
			}
		}
		if c.MaxSteps > 0 && taken >= c.MaxSteps && !t.Done() {
			bar.Finish()
			path, err := c.save(t)
			if err == nil {
				fmt.Fprintf(c.msg(), "pretrain: stopped after --max-steps %d; saved %s\n", c.MaxSteps, path)
			}
			return err
		}
	}
	bar.Finish()
	if !c.lead() {
		return nil
	}
	elapsed := time.Since(start)
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	fmt.Fprintf(os.Stderr, "pretrain: done: %d steps in %s (%.0f views/s), peak memory %.2f GiB\n",
		taken, elapsed.Round(time.Second), float64(int64(taken)*views)/elapsed.Seconds(), float64(ru.Maxrss)/(1<<20))
	if monRuns > 0 {
		fmt.Fprintf(os.Stderr, "pretrain: kNN monitor: %d evaluations of %d images against %d in %.1f s, %.1f%% of the wall time\n",
			monRuns, mon.Queries.Len(), mon.Bank.Len(), monSecs, 100*monSecs/elapsed.Seconds())
	}
	if len(t.History) > 0 {
		return lossPicture(filepath.Join(c.OutDir, "loss.png"), t, c.Log)
	}
	return nil
}

// lossPicture draws the loss of each epoch, and below it the kNN monitor's
// accuracy when the log has some (from this invocation or, for a resumed
// run, an earlier one).
func lossPicture(path string, t *train.Trainer, logPath string) error {
	title := t.Cfg.Objective + " loss per epoch"
	recs, err := train.ReadMonitorLog(logPath, t.Epoch)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pretrain: %v; %s shows the loss only\n", err, path)
	}
	if len(recs) == 0 {
		return plot.LossCurve(path, title, t.History)
	}
	epochs, top1 := make([]int, len(recs)), make([]float64, len(recs))
	for i, r := range recs {
		epochs[i], top1[i] = r.Epoch, r.Top1
	}
	return plot.LossAndKNN(path, title, t.History, epochs, top1)
}

// stopRequested reports whether a signal asked this process to stop or,
// in a distributed run, any rank: the ranks vote at every step (in vote,
// one value) so that they all stop after the same one.
func stopRequested(ctx context.Context, comm dist.Comm, vote []float64) bool {
	asked := ctx.Err() != nil
	if comm == nil {
		return asked
	}
	vote[0] = 0
	if asked {
		vote[0] = 1
	}
	comm.AllreduceSum64(vote)
	return vote[0] > 0
}

// save checks that the ranks of a distributed run still agree (every rank
// calls it at the same step) and has the lead process write the
// checkpoint; the others return no path.
func (c *cli) save(t *train.Trainer) (string, error) {
	if err := t.InSync(); err != nil {
		return "", err
	}
	if !c.lead() {
		return "", nil
	}
	return save(t, c.OutDir)
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
