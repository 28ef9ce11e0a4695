// Command augment turns an image table into a stream of SimCLR views.
//
//	augment [flags] [INPUT|-] [-o OUTPUT|-]
//
// It reads an image table (the schema of pkg/arrowio, as written by
// cifar-fetch; an IPC file or a stream on standard input) and writes an
// image table of views: index, label and image as in the input, plus the
// int32 columns "view" (0..views-1) and "epoch". Standard output gets an
// Arrow IPC stream; a file path gets an Arrow IPC file, written atomically.
//
// Each pass over the input (--epochs) visits the images in a fresh shuffled
// order, --batch images at a time. Every record batch holds the views of one
// batch of images, view-major: with B images, rows [v*B, (v+1)*B) are view v
// of the same B images in the same order, so row i and row i+B form a
// positive pair (the [z1; z2] layout of the NT-Xent loss). The last batch of
// an epoch may hold fewer images. A view is a function of --seed, the epoch,
// the image's index column and the view number only; it does not depend on
// batch size, order or --workers.
//
// With --preview FILE it writes instead a PNG grid: for each of the first
// --preview-images images, the original and then its first --preview-views
// views of epoch 0, enlarged with nearest-neighbour scaling.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"

	"github.com/alecthomas/kong"

	"github.com/simclr-go/simclr/pkg/arrowio"
	"github.com/simclr-go/simclr/pkg/atomicfile"
	"github.com/simclr-go/simclr/pkg/augment"
	"github.com/simclr-go/simclr/pkg/flagcheck"
	"github.com/simclr-go/simclr/pkg/flagdefaults"
	"github.com/simclr-go/simclr/pkg/train"
)

func main() {
	// A reader that goes away must surface as EPIPE, not kill us with SIGPIPE.
	signal.Ignore(syscall.SIGPIPE)
	if err := run(os.Args[1:], os.Stdout); err != nil {
		if errors.Is(err, syscall.EPIPE) {
			return // the consumer closed the pipe: that is how a pipeline stops us
		}
		fmt.Fprintf(os.Stderr, "augment: %v\n", err)
		os.Exit(1)
	}
}

type cli struct {
	Input   string `arg:"" optional:"" default:"-" help:"Image table, an Arrow IPC file or stream; - for standard input."`
	Output  string `short:"o" default:"-" help:"Output: - for an IPC stream on standard output, or a file path (IPC file)."`
	Seed    uint64 `default:"0" help:"Random seed."`
	Views   int    `default:"2" help:"Views per image."`
	Epochs  int    `default:"1" help:"Passes over the input, each in a new order."`
	Batch   int    `default:"${batch}" help:"Images per output record batch (each batch holds views x batch rows); the default is pretrain's, which a stream for pretrain needs."`
	Shuffle bool   `default:"true" negatable:"" help:"Shuffle the images of each epoch."`
	Workers int    `default:"0" help:"Goroutines that augment; 0 for one per CPU."`

	Preview       string `placeholder:"FILE" help:"Write a PNG grid of originals and views to FILE instead of the stream."`
	PreviewImages int    `default:"8" help:"Images in the preview grid."`
	PreviewViews  int    `default:"6" help:"Views per image in the preview grid."`
	PreviewScale  int    `default:"4" help:"Enlargement of the preview's pixels."`

	PrintDefaults flagdefaults.Flag `help:"Print the default of every flag that has one, as shell assignments (--crop-scale-min 0.08 as CROP_SCALE_MIN=0.08), and exit."`

	augment.Flags `embed:""`
}

// parse reads the command line; after --print-defaults it returns
// flagdefaults.ErrPrinted.
func parse(args []string, stdout io.Writer) (*cli, error) {
	var c cli
	p, err := kong.New(&c, kong.Name("augment"),
		kong.Description("Write SimCLR views of an image table as an Arrow IPC stream: "+
			"per record batch, the views of --batch images, view-major (rows i and i+batch are a pair), "+
			"with columns index, label, image, view and epoch."),
		augment.FlagVars(), kong.Vars{"batch": strconv.Itoa(train.DefaultConfig().Batch)}, kong.Writers(stdout, os.Stderr))
	if err != nil {
		return nil, err
	}
	if _, err := p.Parse(args); err != nil {
		return nil, err
	}
	if err := c.Config().Validate(); err != nil {
		return nil, err
	}
	var check flagcheck.Set
	check.Int("views", c.Views, 1, 64)
	check.Int("epochs", c.Epochs, 1, flagcheck.MaxEpochs)
	check.Int("batch", c.Batch, 1, flagcheck.MaxBatch)
	check.Int("workers", c.Workers, 0, flagcheck.MaxThreads)
	check.Int("preview-images", c.PreviewImages, 1, 1024)
	check.Int("preview-views", c.PreviewViews, 1, 64)
	check.Int("preview-scale", c.PreviewScale, 1, 32)
	if err := check.Err(); err != nil {
		return nil, err
	}
	if c.Workers == 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
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
	if err := atomicfile.Clean(os.Stderr, "augment", c.Output, c.Preview); err != nil {
		return err
	}
	limit := -1
	if c.Preview != "" {
		limit = c.PreviewImages
	}
	t, err := readTable(c.Input, limit)
	if err != nil {
		return err
	}
	if c.Preview != "" {
		return writePreview(c.Preview, previewGrid(c.Config(), c.Seed, t, c.PreviewViews, c.PreviewScale))
	}
	return writeViews(c, t, stdout)
}

// table is an image table held in memory, with its metadata.
type table struct {
	augment.Images
	meta map[string]string
}

// readTable reads the rows of the image table at path, at most limit of them
// unless limit is negative.
func readTable(path string, limit int) (*table, error) {
	r, err := arrowio.OpenImages(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if path == "-" {
		path = "<stdin>" // as arrowio names it
	}
	for _, name := range r.Extra() {
		if name == colView || name == colEpoch {
			return nil, fmt.Errorf("%s: already has a %q column: want images, not views", path, name)
		}
	}
	t := &table{meta: r.Metadata()}
	for (limit < 0 || t.Len() < limit) && r.Next() {
		b := r.Batch()
		n := b.Len()
		if limit >= 0 {
			n = min(n, limit-t.Len())
		}
		t.Index = append(t.Index, b.Index[:n]...)
		t.Label = append(t.Label, b.Label[:n]...)
		t.Pixels = append(t.Pixels, b.Pixels[:n*arrowio.ImageSize]...)
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	if t.Len() == 0 {
		return nil, fmt.Errorf("%s: no images", path)
	}
	return t, nil
}

// order returns the order in which epoch visits the n images of the table:
// augment.Order, the order pretrain trains in, unless not shuffled.
func order(n int, seed uint64, epoch int, shuffle bool) []int {
	if shuffle {
		return augment.Order(seed, epoch, n)
	}
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	return perm
}
