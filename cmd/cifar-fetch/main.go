// Command cifar-fetch turns the CIFAR-10 (or, with --dataset cifar100, the
// CIFAR-100) binary distribution into the project's Arrow image tables,
// train.arrow (50,000 rows) and test.arrow (10,000 rows). See pkg/arrowio
// for the table format.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/alecthomas/kong"
	"golang.org/x/term"

	"github.com/simclr-go/simclr/pkg/arrowio"
	"github.com/simclr-go/simclr/pkg/atomicfile"
	"github.com/simclr-go/simclr/pkg/cifar"
	"github.com/simclr-go/simclr/pkg/version"
)

const tool = "cifar-fetch"

const description = `Convert CIFAR-10 or CIFAR-100 into Arrow image tables.

By default it downloads the official binary archive (checked against its
official MD5) into a cache, so later runs do no network work. With --archive it
reads a local copy instead. Either way each of the six data files is checked
against its official MD5, the archive is read as a stream, and train.arrow and
test.arrow are written to --out-dir: Arrow IPC files with columns index
(int32), label (uint8) and image (fixed_size_list<uint8>[3072], CHW, its
shape in field and schema metadata; with --tensor-extension marked as the
canonical arrow.fixed_shape_tensor instead, which Polars cannot read). Outputs
appear only when complete; existing ones are kept unless --force.

With --dataset cifar100 it converts cifar-100-binary.tar.gz instead, whose
own MD5 (the only digest published) must be the official one: label is the
fine label (names from fine_label_names.txt), coarse_label an int32 column
(names in the coarse_class_names metadata), and each table records its
per-channel mean and standard deviation (channel_mean, channel_std).

Examples:
  cifar-fetch --out-dir data
  cifar-fetch --archive cifar-10-binary.tar.gz --out-dir data
  cifar-fetch --archive cifar-10-binary.tar.gz --split test -o - | other-tool
  cifar-fetch --dataset cifar100 --out-dir data100`

type cli struct {
	Dataset  string           `default:"cifar10" enum:"cifar10,cifar100" help:"cifar10, or cifar100 (the binary archive: fine labels as label, coarse ones as a coarse_label column)."`
	Archive  string           `placeholder:"PATH" env:"CIFAR10_ARCHIVE" help:"Read this local cifar-10-binary.tar.gz (or cifar-100-binary.tar.gz) instead of downloading (takes precedence over --url)."`
	URL      string           `name:"url" placeholder:"URL" help:"Download from this URL. The official URL's archive MD5 is checked; a mirror's copy of CIFAR-10 is proven by the per-file MD5s alone (default: ${url}, or ${url100} for cifar100)."`
	CacheDir string           `placeholder:"DIR" default:"${cache}" help:"Keep downloads here (default: ${default})."`
	OutDir   string           `short:"d" placeholder:"DIR" default:"data" help:"Write train.arrow and test.arrow here, creating it if needed (default: ${default})."`
	Split    string           `enum:"train,test,all" default:"all" help:"Which split to write: train, test or all."`
	Output   string           `short:"o" placeholder:"PATH" help:"Write the split chosen with --split to PATH instead; - writes an Arrow IPC stream to stdout."`
	Force    bool             `short:"f" help:"Overwrite existing outputs."`
	Tensor   bool             `name:"tensor-extension" help:"Mark the image column as the canonical Arrow extension type arrow.fixed_shape_tensor (pyarrow reads it as a tensor column; Polars cannot read such tables)."`
	Quiet    bool             `short:"q" help:"Print nothing but errors."`
	Version  kong.VersionFlag `help:"Print the version and exit."`
}

func main() {
	if err := run(os.Args[1:], cifar.OfficialMD5); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", tool, err)
		os.Exit(1)
	}
}

// run parses args and converts; sums is the per-file MD5 table the data
// files must match (tests pass their own).
func run(args []string, sums map[string]string) error {
	cache, err := cifar.DefaultCacheDir()
	if err != nil {
		cache = "" // no home directory: --cache-dir is then needed to download
	}
	var c cli
	parser, err := kong.New(&c,
		kong.Name(tool),
		kong.Description(description),
		kong.Vars{"url": cifar.ArchiveURL, "url100": cifar.Archive100URL, "cache": cache, "version": version.Producer(tool)},
		kong.UsageOnError(),
	)
	if err != nil {
		return err
	}
	if _, err := parser.Parse(args); err != nil {
		return err
	}
	if c.URL == "" {
		c.URL = map[string]string{"cifar10": cifar.ArchiveURL, "cifar100": cifar.Archive100URL}[c.Dataset]
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return c.fetch(ctx, sums)
}

// output is one table to write.
type output struct {
	split cifar.Split
	path  string // "-" for stdout
}

func (c *cli) fetch(ctx context.Context, sums map[string]string) error {
	outs, err := c.outputs()
	if err != nil {
		return err
	}
	if len(outs) == 0 {
		return nil
	}
	archive, source, err := c.archive(ctx)
	if err != nil {
		return err
	}
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	// The tables' metadata names the archive's SHA-256, and it comes first in
	// the file: hash in a first pass (a fraction of a second).
	h := sha256.New()
	if _, err := io.Copy(h, ctxReader{ctx, f}); err != nil {
		return fmt.Errorf("%s: %w", archive, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if c.Dataset == "cifar100" {
		return c.fetch100(ctx, f, archive, source, sum, outs)
	}

	writers := map[cifar.Split]*arrowio.ImageWriter{}
	defer func() {
		for _, w := range writers {
			w.Abort() // a no-op for the ones closed
		}
	}()
	schema := arrowio.ImageSchema
	if c.Tensor {
		schema = arrowio.TensorImageSchema
	}
	for _, o := range outs {
		w, err := arrowio.CreateImages(o.path, schema(map[string]string{
			arrowio.MetaSplit:        string(o.split),
			arrowio.MetaSource:       source,
			arrowio.MetaSourceSHA256: sum,
			arrowio.MetaProducer:     version.Producer(tool),
		}))
		if err != nil {
			return err
		}
		writers[o.split] = w
	}
	rows := map[cifar.Split]int{}
	err = cifar.ReadArchive(ctxReader{ctx, f}, archive, sums, func(s cifar.Split, b arrowio.ImageBatch) error {
		w := writers[s]
		if w == nil {
			return nil
		}
		rows[s] += b.Len()
		return w.Write(b)
	})
	if ctx.Err() != nil {
		return errors.New("interrupted; no output written")
	}
	if err != nil {
		return err
	}
	for _, o := range outs {
		if err := writers[o.split].Close(); err != nil {
			return err
		}
		c.note("wrote %s: %d images", o.path, rows[o.split])
	}
	return nil
}

// outputs lists the tables to write, leaving out existing ones unless
// --force, and checks that the others can be written before any long work.
func (c *cli) outputs() ([]output, error) {
	var outs []output
	if c.Output != "" {
		if c.Split == "all" {
			return nil, errors.New("-o writes one split: add --split train or --split test")
		}
		outs = append(outs, output{cifar.Split(c.Split), c.Output})
	} else {
		if err := os.MkdirAll(c.OutDir, 0o755); err != nil {
			return nil, fmt.Errorf("output directory: %w", err)
		}
		for _, s := range cifar.Splits {
			if c.Split == "all" || c.Split == string(s) {
				outs = append(outs, output{s, filepath.Join(c.OutDir, string(s)+".arrow")})
			}
		}
	}
	var todo []output
	for _, o := range outs {
		if o.path != "-" {
			var log io.Writer = os.Stderr
			if c.Quiet {
				log = nil
			}
			if err := atomicfile.Clean(log, tool, o.path); err != nil {
				return nil, err
			}
			if _, err := os.Stat(o.path); err == nil && !c.Force {
				c.note("%s exists; keeping it (--force overwrites)", o.path)
				continue
			}
			probe, err := atomicfile.Create(o.path)
			if err != nil {
				return nil, err
			}
			probe.Abort()
		}
		todo = append(todo, o)
	}
	return todo, nil
}

// archive returns the local archive to read, downloading it if need be, and
// the source to record in the tables' metadata.
func (c *cli) archive(ctx context.Context) (path, source string, err error) {
	if c.Archive != "" {
		return c.Archive, filepath.Base(c.Archive), nil
	}
	if c.CacheDir == "" {
		return "", "", errors.New("no cache directory for the download: pass --cache-dir or --archive")
	}
	d := &cifar.Downloader{Dir: c.CacheDir}
	if !c.Quiet {
		d.Log = os.Stderr
		if term.IsTerminal(int(os.Stderr.Fd())) {
			d.Progress = os.Stderr
		}
	}
	path, err = d.Fetch(ctx, c.URL, cifar.ExpectedArchiveMD5(c.URL))
	return path, c.URL, err
}

func (c *cli) note(format string, args ...any) {
	if !c.Quiet {
		fmt.Fprintf(os.Stderr, tool+": "+format+"\n", args...)
	}
}

// ctxReader stops a long read when ctx is cancelled (Ctrl-C), so that the
// deferred aborts remove partial outputs.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
