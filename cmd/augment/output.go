package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/simclr-go/simclr/pkg/arrowio"
	"github.com/simclr-go/simclr/pkg/atomicfile"
	"github.com/simclr-go/simclr/pkg/augment"
	"github.com/simclr-go/simclr/pkg/version"
)

// Extra columns of the view table.
const (
	colView  = "view"
	colEpoch = "epoch"
)

// inherited are the input's metadata keys that describe the views too.
var inherited = []string{arrowio.MetaClassNames, arrowio.MetaSplit, arrowio.MetaSource, arrowio.MetaSourceSHA256}

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
	schema, err := viewSchema(c, t.meta, t.len())
	if err != nil {
		return err
	}
	w, err := createViews(c.Output, stdout, schema)
	if err != nil {
		return err
	}
	defer w.abort()

	cfg, n, rows := c.Config(), t.len(), c.Batch*c.Views
	src := make([]uint8, c.Batch*augment.ImageLen)
	indices := make([]int, c.Batch)
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
			for i, id := range ids {
				copy(src[i*augment.ImageLen:], t.pixels[id*augment.ImageLen:(id+1)*augment.ImageLen])
				indices[i] = int(t.index[id])
			}
			cfg.Batch(b.Pixels[:m*augment.ImageLen], src[:k*augment.ImageLen], c.Seed, epoch, indices[:k], c.Views, c.Workers)
			for r := range m {
				id := ids[r%k]
				b.Index[r], b.Label[r] = t.index[id], t.label[id]
				b.Extra[colView][r], b.Extra[colEpoch][r] = int32(r/k), int32(epoch)
			}
			if err := w.write(b, m); err != nil {
				return err
			}
		}
	}
	return w.close()
}

// viewWriter writes the view table one record batch per call, so that the
// views of a batch of images stay together (arrowio.ImageWriter regroups
// rows into batches of a fixed size).
type viewWriter struct {
	name string
	ipcw interface {
		Write(arrow.Record) error
		Close() error
	}
	rb      *array.RecordBuilder
	flush   func() error // after every batch: a stream goes out to the reader waiting at the other end
	commit  func() error // publishes the table once complete
	discard func()
	done    bool
}

// createViews writes an IPC stream to stdout when path is "-", and an IPC
// file at path, atomically, otherwise.
func createViews(path string, stdout io.Writer, schema *arrow.Schema) (*viewWriter, error) {
	w := &viewWriter{name: path}
	if path == "-" {
		bw := bufio.NewWriterSize(stdout, 1<<16)
		w.name, w.ipcw = "<stdout>", ipc.NewWriter(bw, ipc.WithSchema(schema))
		w.flush, w.commit, w.discard = bw.Flush, func() error { return nil }, func() {}
	} else {
		f, err := atomicfile.Create(path)
		if err != nil {
			return nil, err
		}
		fw, err := ipc.NewFileWriter(f, ipc.WithSchema(schema))
		if err != nil {
			f.Abort()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		w.ipcw, w.flush, w.commit, w.discard = fw, func() error { return nil }, f.Commit, f.Abort
	}
	w.rb = array.NewRecordBuilder(memory.DefaultAllocator, schema)
	return w, nil
}

// write writes the first rows rows of b as one record batch.
func (w *viewWriter) write(b arrowio.ImageBatch, rows int) error {
	w.rb.Field(0).(*array.Int32Builder).AppendValues(b.Index[:rows], nil)
	w.rb.Field(1).(*array.Uint8Builder).AppendValues(b.Label[:rows], nil)
	img := w.rb.Field(2).(*array.FixedSizeListBuilder)
	for range rows {
		img.Append(true)
	}
	img.ValueBuilder().(*array.Uint8Builder).AppendValues(b.Pixels[:rows*arrowio.ImageSize], nil)
	w.rb.Field(3).(*array.Int32Builder).AppendValues(b.Extra[colView][:rows], nil)
	w.rb.Field(4).(*array.Int32Builder).AppendValues(b.Extra[colEpoch][:rows], nil)
	rec := w.rb.NewRecord()
	defer rec.Release()
	err := w.ipcw.Write(rec)
	if err == nil {
		err = w.flush()
	}
	if err != nil {
		return fmt.Errorf("%s: %w", w.name, err)
	}
	return nil
}

// close ends the table and publishes it.
func (w *viewWriter) close() error {
	err := w.ipcw.Close()
	if err == nil {
		err = w.flush()
	}
	if err != nil {
		return fmt.Errorf("%s: %w", w.name, err)
	}
	w.done = true
	w.rb.Release()
	return w.commit()
}

// abort discards an unfinished table: a file is removed, a stream is left
// without its end-of-stream marker, which readers report as truncated.
func (w *viewWriter) abort() {
	if !w.done {
		w.done = true
		w.rb.Release()
		w.discard()
	}
}
