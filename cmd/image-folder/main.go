// Command image-folder turns a folder of PNG and JPEG images into an image
// table (see pkg/arrowio) that every later stage takes as it takes
// cifar-fetch's: 32×32 RGB in CHW order, resized and centre-cropped as
// torchvision's Resize(32) + CenterCrop(32) do, with a path column naming
// each image's file. See pkg/imagefolder.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/alecthomas/kong"

	"github.com/simclr-go/simclr/pkg/arrowio"
	"github.com/simclr-go/simclr/pkg/atomicfile"
	"github.com/simclr-go/simclr/pkg/imagefolder"
	"github.com/simclr-go/simclr/pkg/progress"
	"github.com/simclr-go/simclr/pkg/version"
)

const tool = "image-folder"

const description = `Convert a folder of PNG and JPEG images into an Arrow image table.

Labels come from one level of subfolders, as torchvision's ImageFolder finds
them: DIR/CLASS/**/*.png, classes sorted by name into the table's class_names
metadata, label = position in that list. A folder with no subfolders holds
unlabelled images (every label 0, metadata labelled=false): pretrain and
extract take them, linprobe and supervised pretraining refuse them.

Each image is converted to RGB (alpha dropped), its shorter side resized to
32 pixels with Pillow's antialiased bilinear filter (torchvision's
Resize(32)), and its centre 32×32 cut out (CenterCrop(32)). Rows follow the
listing: classes by name, then folders by path and files by name. Columns:
index (int32, the row), label (uint8), image (fixed_size_list<uint8>[3072],
CHW), path (utf8, the file below DIR). A file that cannot be decoded fails
the conversion, naming it, unless --skip-bad; the table appears only when
complete.

Examples:
  image-folder photos/ -o data/photos.arrow
  image-folder photos/ --split test --skip-bad -o - | augment - --preview p.png`

type cli struct {
	Dir     string           `arg:"" type:"existingdir" help:"Folder of images, or of class subfolders of images."`
	Output  string           `short:"o" required:"" placeholder:"PATH" help:"Write the table here (an Arrow IPC file); - writes an IPC stream to stdout."`
	Split   string           `default:"train" help:"The split metadata value (default: ${default})."`
	SkipBad bool             `help:"Skip files that cannot be read or decoded (each named on stderr, with a count at the end) instead of failing."`
	Tensor  bool             `name:"tensor-extension" help:"Mark the image column as the canonical Arrow extension type arrow.fixed_shape_tensor (Polars cannot read such tables)."`
	Threads int              `default:"0" help:"Files decoded at once (0: one per core)."`
	Quiet   bool             `short:"q" help:"Print nothing but errors."`
	Version kong.VersionFlag `help:"Print the version and exit."`
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", tool, err)
		os.Exit(1)
	}
}

func run(args []string) error {
	var c cli
	parser, err := kong.New(&c, kong.Name(tool), kong.Description(description),
		kong.Vars{"version": version.Producer(tool)}, kong.UsageOnError())
	if err != nil {
		return err
	}
	if _, err := parser.Parse(args); err != nil {
		return err
	}
	return c.convert()
}

func (c *cli) convert() error {
	if c.Threads < 0 {
		return fmt.Errorf("--threads %d, want 0 or more", c.Threads)
	}
	l, err := imagefolder.Scan(c.Dir)
	if err != nil {
		return err
	}
	meta := map[string]string{
		arrowio.MetaSplit:        c.Split,
		arrowio.MetaSource:       filepath.Clean(c.Dir),
		arrowio.MetaSourceSHA256: imagefolder.Digest(c.Dir, l),
		arrowio.MetaProducer:     version.Producer(tool),
		"resize":                 "torchvision Resize(32) + CenterCrop(32): Pillow bilinear, antialiased",
	}
	classes := l.Classes
	if classes == nil {
		classes = []string{"unlabelled"}
		meta[arrowio.MetaLabelled] = "false"
	}
	names, _ := json.Marshal(classes)
	meta[arrowio.MetaClassNames] = string(names)
	if c.Output != "-" {
		// Fail now, not after the decoding, if the output cannot be written.
		probe, err := atomicfile.Create(c.Output)
		if err != nil {
			return err
		}
		probe.Abort()
	}

	c.note("%s: %d images in %d classes (%d other files ignored)", c.Dir, len(l.Files), len(l.Classes), l.Ignored)
	out := progress.Stderr() // a terminal, or nil
	if c.Quiet {
		out = nil
	}
	bar := progress.New(out, 0, int64(len(l.Files)), "images", 1)
	threads := c.Threads
	if threads == 0 {
		threads = runtime.NumCPU()
	}
	// The rows are held in memory (3 KiB an image, as pretrain holds them)
	// so that their channel statistics can head the table.
	var batches []arrowio.ImageBatch
	var stats arrowio.ChannelStats
	res, err := imagefolder.Convert(c.Dir, l, imagefolder.Options{
		Workers:  threads,
		SkipBad:  c.SkipBad,
		Bad:      func(err error) { fmt.Fprintf(os.Stderr, "%s: skipped %v\n", tool, err) },
		Progress: func(done int) { bar.Draw(int64(done), "converting") },
	}, func(b arrowio.ImageBatch) error {
		batches = append(batches, b)
		stats.Add(b.Pixels)
		return nil
	})
	bar.Finish()
	if err != nil {
		return fmt.Errorf("%w (--skip-bad skips such files); no output written", err)
	}
	if res.Rows == 0 {
		return errors.New("every image was bad; no output written")
	}
	stats.SetMeta(meta)
	w, err := arrowio.CreateImages(c.Output, arrowio.NewImageSchema(arrowio.SchemaOptions{Meta: meta, Tensor: c.Tensor, Path: true}))
	if err != nil {
		return err
	}
	defer w.Abort()
	for _, b := range batches {
		if err := w.Write(b); err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	c.note("wrote %s: %d images, %d skipped", c.Output, res.Rows, res.Skipped)
	return nil
}

func (c *cli) note(format string, args ...any) {
	if !c.Quiet {
		fmt.Fprintf(os.Stderr, tool+": "+format+"\n", args...)
	}
}
