package main

import (
	"encoding/json"
	"io"
	"strconv"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/simclr-go/simclr/pkg/arrowio"
	"github.com/simclr-go/simclr/pkg/augment"
	"github.com/simclr-go/simclr/pkg/version"
)

// Extra columns of the view table.
const (
	colView  = "view"
	colEpoch = "epoch"
)

// inherited are the input's metadata keys that describe the views too.
var inherited = []string{arrowio.MetaClassNames, arrowio.MetaSplit, arrowio.MetaSource, arrowio.MetaSourceSHA256,
	arrowio.MetaLabelled, arrowio.MetaChannelMean, arrowio.MetaChannelStd}

func viewSchema(c *cli, in map[string]string, images int) (*arrow.Schema, error) {
	cfg, err := json.Marshal(c.Config())
	if err != nil {
		return nil, err
	}
	meta := map[string]string{
		arrowio.MetaProducer: version.Producer("augment"),
		"seed":               strconv.FormatUint(c.Seed, 10),
		"views":              strconv.Itoa(c.Views),
		"epochs":             strconv.Itoa(c.Epochs),
		"batch":              strconv.Itoa(c.Batch),
		"shuffle":            strconv.FormatBool(c.Shuffle),
		"layout":             "view-major",
		"augment_config":     string(cfg),
		"images":             strconv.Itoa(images),
	}
	for _, k := range inherited {
		if v, ok := in[k]; ok {
			meta[k] = v
		}
	}
	return arrowio.ImageSchema(meta, colView, colEpoch), nil
}

// writeViews writes c.Epochs passes of views of t, one record batch per batch
// of images.
func writeViews(c *cli, t *table, stdout io.Writer) error {
	schema, err := viewSchema(c, t.meta, t.Len())
	if err != nil {
		return err
	}
	w, err := createViews(c.Output, stdout, schema)
	if err != nil {
		return err
	}
	defer w.Abort()

	n, rows := t.Len(), c.Batch*c.Views
	views := augment.Batcher{Config: c.Config(), Seed: c.Seed, Views: c.Views, Workers: c.Workers}
	b := arrowio.ImageBatch{
		Index:  make([]int32, rows),
		Label:  make([]uint8, rows),
		Pixels: make([]uint8, rows*augment.ImageLen),
		Extra:  map[string][]int32{colView: make([]int32, rows), colEpoch: make([]int32, rows)},
	}
	for epoch := range c.Epochs {
		perm := order(n, c.Seed, epoch, c.Shuffle)
		for start := 0; start < n; start += c.Batch {
			ids := perm[start:min(start+c.Batch, n)]
			k, m := len(ids), len(ids)*c.Views
			views.Batch(b.Pixels[:m*augment.ImageLen], t.Images, epoch, ids)
			for r := range m {
				id := ids[r%k]
				b.Index[r], b.Label[r] = t.Index[id], t.Label[id]
				b.Extra[colView][r], b.Extra[colEpoch][r] = int32(r/k), int32(epoch)
			}
			// The columns in schema order: index, label, image, view, epoch.
			if err := w.Write(m, arrow.Int32Traits.CastToBytes(b.Index[:m]), b.Label[:m], b.Pixels[:m*augment.ImageLen],
				arrow.Int32Traits.CastToBytes(b.Extra[colView][:m]), arrow.Int32Traits.CastToBytes(b.Extra[colEpoch][:m])); err != nil {
				return err
			}
		}
	}
	return w.Close()
}

// createViews writes an IPC stream to stdout when path is "-", and an IPC
// file at path, atomically, otherwise. Each Write is one record batch, so
// that the views of a batch of images stay together (arrowio.ImageWriter
// regroups rows into batches of a fixed size), and a stream goes out to the
// reader waiting at the other end batch by batch.
func createViews(path string, stdout io.Writer, schema *arrow.Schema) (*arrowio.RecordWriter, error) {
	opts := arrowio.WriteOptions{AsGiven: true}
	if path == "-" {
		return arrowio.NewIPCWriter(stdout, "<stdout>", schema, opts)
	}
	return arrowio.CreateIPC(path, schema, opts)
}
