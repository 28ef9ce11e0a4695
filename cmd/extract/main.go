// Command extract runs a frozen encoder over an image table and writes the
// features of every image as a feature table (see pkg/features).
//
//	extract --checkpoint simclr_epoch100.safetensors data/test.arrow -o test_feats.arrow
//	extract --random-init --seed 0 data/train.arrow -o train_feats.arrow
//	extract --checkpoint simclr_epoch100.safetensors --shard 1/4 data/train.arrow -o train_feats-1.arrow
//
// --shard I/N (or --shards N, with I from JOB_COMPLETION_INDEX, as in each
// pod of a Kubernetes Indexed Job) writes the features of shard I of the
// rows only (features.Shard.Rows), so that N machines share the work; the
// shards' tables concatenated in order are the unsharded table, and
// linprobe, given them all, checks that they are and concatenates them.
//
// The encoder runs in eval mode (batch-norm running statistics); the
// projection head, if the checkpoint has one, is ignored. Record batches go
// in and out one at a time, so memory stays constant whatever the table's
// size; -o - streams the table to standard output.
package main

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/simclr-go/simclr/pkg/arrowio"
	"github.com/simclr-go/simclr/pkg/atomicfile"
	"github.com/simclr-go/simclr/pkg/augment"
	"github.com/simclr-go/simclr/pkg/features"
	"github.com/simclr-go/simclr/pkg/flagcheck"
	"github.com/simclr-go/simclr/pkg/kern"
	"github.com/simclr-go/simclr/pkg/model"
	"github.com/simclr-go/simclr/pkg/progress"
	"github.com/simclr-go/simclr/pkg/train"
	"github.com/simclr-go/simclr/pkg/version"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "extract: %v\n", err)
		os.Exit(1)
	}
}

type cli struct {
	Input      string `arg:"" optional:"" default:"-" help:"Image table (Arrow IPC file or stream; - for standard input)."`
	Output     string `short:"o" default:"-" help:"Feature table: a file path (IPC file, written atomically) or - for an IPC stream on standard output."`
	Checkpoint string `placeholder:"FILE" env:"EXTRACT_CHECKPOINT" help:"Pretraining checkpoint (safetensors) whose encoder to use."`
	RandomInit bool   `env:"EXTRACT_RANDOM_INIT" help:"Use a randomly initialised encoder instead of a checkpoint (the random-encoder baseline)."`
	Seed       uint64 `default:"0" env:"EXTRACT_SEED" help:"Seed of --random-init; the same seed as pretrain gives pretrain's initial encoder."`
	Stem       string `default:"imagenet" enum:"${stems}" env:"EXTRACT_STEM" help:"Stem of --random-init, or of a checkpoint that does not say."`
	Batch      int    `default:"512" env:"EXTRACT_BATCH" help:"Images per forward pass."`
	Limit      int    `default:"0" env:"EXTRACT_LIMIT" help:"Extract the first N images only (0: all); with --shard, shard the first N."`
	Shard      string `placeholder:"I/N" env:"EXTRACT_SHARD" help:"Extract shard I of N only, counted from 0: of the input's n rows (after --limit), rows I*n/N to (I+1)*n/N - 1, divisions rounded down. The shards' tables concatenated in order 0 to N-1 are the unsharded table; linprobe takes them so. The table's metadata records the shard. The input must be an IPC file, whose row count is known before reading."`
	Shards     int    `placeholder:"N" env:"EXTRACT_SHARDS" help:"As --shard I/N with I from the environment variable JOB_COMPLETION_INDEX, which a Kubernetes Indexed Job sets in each pod (0: no sharding; --shard wins)."`
	Threads    int    `default:"0" env:"EXTRACT_THREADS" help:"Cores for the kernels (0: all)."`
	Backend    string `default:"auto" env:"EXTRACT_BACKEND" help:"Compute backend: auto (the best this CPU runs) or one of those it runs: ${backends} (generic: portable Go)."`
	Precision  string `default:"auto" enum:"auto,fp32,bf16" env:"EXTRACT_PRECISION" help:"What the convolutions multiply in: auto (bf16 only where this CPU runs it faster; stderr says which and why), fp32, or bf16 (bfloat16 inputs, float32 accumulation). The feature table's metadata records it."`
}

func run(args []string) error {
	var c cli
	p, err := kong.New(&c, kong.Name("extract"),
		kong.Description("Write the frozen encoder's 512-d features of every image of a table."),
		kong.Vars{"stems": strings.Join(model.Stems, ","), "backends": strings.Join(kern.Available(), ", ")})
	if err != nil {
		return err
	}
	if _, err := p.Parse(args); err != nil {
		return err
	}
	if (c.Checkpoint == "") == !c.RandomInit {
		return fmt.Errorf("give exactly one of --checkpoint FILE and --random-init")
	}
	var check flagcheck.Set
	check.Int("batch", c.Batch, 1, flagcheck.MaxBatch)
	check.Int("limit", c.Limit, 0, math.MaxInt32)
	check.Int("threads", c.Threads, 0, flagcheck.MaxThreads)
	check.Int("shards", c.Shards, 0, math.MaxInt32)
	if err := check.Err(); err != nil {
		return err
	}
	shard, sharded, err := c.shard()
	if err != nil {
		return err
	}
	if err := atomicfile.Clean(os.Stderr, "extract", c.Output); err != nil { // what a killed extract left
		return err
	}
	eng, note, err := kern.New(kern.Options{Backend: c.Backend, Threads: c.Threads, Precision: c.Precision})
	if err != nil {
		return err
	}
	prec := eng.Policy().Conv
	if note != "" {
		fmt.Fprintf(os.Stderr, "extract: %s\n", note)
	}
	enc, meta, norm, err := encoder(&c, eng)
	if err != nil {
		return err
	}
	meta[features.MetaPrecision] = string(prec)
	in, err := arrowio.OpenImages(c.Input)
	if err != nil {
		return err
	}
	defer in.Close()
	from, to := 0, math.MaxInt // the rows to extract
	if c.Limit > 0 {
		to = c.Limit
	}
	if sharded {
		n, ok := in.NumRows()
		if !ok {
			return fmt.Errorf("--shard %s: the input %s is an IPC stream, whose rows are counted only at its end; give an IPC file", shard, c.Input)
		}
		n = min(n, to)
		if shard.N > n && n > 0 {
			return fmt.Errorf("--shard %s: %d shards of the input's %d rows would leave some empty; use at most %d", shard, shard.N, n, n)
		}
		from, to = shard.Rows(n)
		shard.SetMetadata(meta, n)
	}
	if s, ok := in.Metadata()[arrowio.MetaSplit]; ok {
		meta[features.MetaSplit] = s
	}
	for _, k := range []string{arrowio.MetaClassNames, arrowio.MetaLabelled} {
		if v, ok := in.Metadata()[k]; ok {
			meta[k] = v
		}
	}
	// Normalise as in training: with the checkpoint's statistics; a random
	// encoder with the table's own, or CIFAR-10's when it has none.
	mean, std, ok, err := arrowio.Normalization(in.Metadata())
	if err != nil {
		return fmt.Errorf("%s: %w", c.Input, err)
	}
	if norm != nil {
		mean, std = norm.Normalization()
	} else if !ok {
		mean, std = augment.CIFAR10Mean, augment.CIFAR10Std
	}
	out, err := features.Create(c.Output, model.FeatureDim, meta)
	if err != nil {
		return err
	}
	n, elapsed, err := extract(enc, in, out, c.Batch, from, to, mean, std)
	if err != nil {
		out.Abort()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	what := fmt.Sprintf("%d images", n)
	if sharded {
		what += fmt.Sprintf(" (shard %s: rows %d:%d)", shard, from, to)
	}
	fmt.Fprintf(os.Stderr, "extract: %s in %.1f s (%.0f images/s, stem %s, %s on the %s backend, %d threads)\n",
		what, elapsed.Seconds(), float64(n)/elapsed.Seconds(), enc.Stem, prec, eng.Backend().Name, eng.Threads())
	return nil
}

// jobIndexEnv is where a Kubernetes Indexed Job gives each pod its index.
const jobIndexEnv = "JOB_COMPLETION_INDEX"

// shard returns the shard that --shard, or --shards and JOB_COMPLETION_INDEX,
// name; ok is false when neither flag is given.
func (c *cli) shard() (s features.Shard, ok bool, err error) {
	switch {
	case c.Shard != "":
		if s, err = features.ParseShard(c.Shard); err != nil {
			return s, false, fmt.Errorf("--shard %s: %w", c.Shard, err)
		}
		return s, true, nil
	case c.Shards == 0:
		return s, false, nil
	}
	v, set := os.LookupEnv(jobIndexEnv)
	if !set {
		return s, false, fmt.Errorf("--shards %d: %s is not set (a Kubernetes Indexed Job sets it in each pod); elsewhere give --shard I/%d", c.Shards, jobIndexEnv, c.Shards)
	}
	i, err := strconv.Atoi(v)
	if err == nil {
		s, err = features.NewShard(i, c.Shards)
	}
	if err != nil {
		return s, false, fmt.Errorf("--shards %d: %s=%q: want a shard index 0 to %d", c.Shards, jobIndexEnv, v, c.Shards-1)
	}
	return s, true, nil
}

// encoder builds the frozen encoder and the metadata that says where it
// came from, and, for a checkpoint, the config it was trained with, whose
// pixel normalisation extraction repeats (nil for --random-init).
func encoder(c *cli, eng *kern.Engine) (*model.Encoder, map[string]string, *train.Config, error) {
	checkpoint := c.Checkpoint
	if c.RandomInit {
		checkpoint = ""
	}
	enc, src, err := train.OpenEncoder(eng, checkpoint, c.Stem, c.Seed, c.Batch)
	if err != nil {
		return nil, nil, nil, err
	}
	meta := src.Metadata(version.Producer("extract"))
	meta[features.MetaStem] = src.Stem
	return enc, meta, src.Config, nil
}

// extract streams rows from to to-1 of in (to may lie past its end) through
// enc into out, batch images at a time, and reports how many and how long.
// The record batches before from are read, as the IPC reader goes, but not
// encoded.
//
// Every forward pass is of batch images, a short one padded with zeros: the
// kernels a layer runs (direct or lowered, bf16 or float32) depend on the
// pass's size, so a row's features would otherwise depend on where the
// record batches, the shard and --limit cut the rows. In eval mode the
// padding changes no other row.
func extract(enc *model.Encoder, in *arrowio.ImageReader, out *features.Writer, batch, from, to int, mean, std [augment.Channels]float32) (int, time.Duration, error) {
	start := time.Now()
	bar := progress.New(progress.Stderr(), 0, 0, "images", 1)
	x := make([]float32, batch*arrowio.ImageSize)
	done, seen := 0, 0 // rows encoded, rows of in read
	for seen < to && in.Next() {
		b := in.Batch()
		// This record batch's rows within [from, to).
		first, rows := max(from-seen, 0), min(b.Len(), to-seen)
		seen += b.Len()
		for lo := first; lo < rows; lo += batch {
			hi := min(lo+batch, rows)
			n := hi - lo
			augment.ToNHWC(x[:n*arrowio.ImageSize], b.Pixels[lo*arrowio.ImageSize:hi*arrowio.ImageSize], mean, std)
			clear(x[n*arrowio.ImageSize:])
			feat := enc.Forward(x, batch)[:n*model.FeatureDim]
			if err := out.Write(features.Batch{Index: b.Index[lo:hi], Label: b.Label[lo:hi], Features: feat}); err != nil {
				return done, 0, err
			}
			done += n
			bar.Draw(int64(done), "extract")
		}
	}
	bar.Finish()
	if err := in.Err(); err != nil {
		return done, 0, err
	}
	if done == 0 {
		return 0, 0, fmt.Errorf("no images in the input")
	}
	return done, time.Since(start), nil
}
