package arrowio

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/simclr-go/simclr/pkg/atomicfile"
)

// ImageWriter writes an image table in record batches of BatchRows rows,
// whatever the sizes of the batches handed to Write. Close publishes the
// table; Abort discards it.
type ImageWriter struct {
	name    string
	cols    layout
	b       *array.RecordBuilder
	pending int // rows in b
	ipcw    interface {
		Write(arrow.Record) error
		Close() error
	}
	commit func() error // publishes the output after the IPC writer closes; errors name it
	abort  func()
	closed bool
}

// CreateImages writes an image table with the given schema (see ImageSchema)
// to path as an Arrow IPC file, atomically: nothing appears at path unless
// Close succeeds. When path is "-" it writes an IPC stream to standard output.
func CreateImages(path string, schema *arrow.Schema) (*ImageWriter, error) {
	if path == "-" {
		return NewImageWriter(os.Stdout, "<stdout>", schema)
	}
	cols, err := checkSchema(schema)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f, err := atomicfile.Create(path)
	if err != nil {
		return nil, err
	}
	fw, err := ipc.NewFileWriter(f, ipc.WithSchema(schema))
	if err != nil {
		f.Abort()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	w := newImageWriter(path, cols, schema, fw)
	w.commit, w.abort = f.Commit, f.Abort
	return w, nil
}

// NewImageWriter writes an image table with the given schema to w as an Arrow
// IPC stream; name identifies it in errors. Only Close writes the
// end-of-stream marker, so readers of an aborted stream see it as truncated.
func NewImageWriter(w io.Writer, name string, schema *arrow.Schema) (*ImageWriter, error) {
	cols, err := checkSchema(schema)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	iw := newImageWriter(name, cols, schema, ipc.NewWriter(bw, ipc.WithSchema(schema)))
	iw.commit = func() error {
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
	iw.abort = func() {}
	return iw, nil
}

func newImageWriter(name string, cols layout, schema *arrow.Schema, ipcw interface {
	Write(arrow.Record) error
	Close() error
}) *ImageWriter {
	return &ImageWriter{
		name: name,
		cols: cols,
		b:    array.NewRecordBuilder(memory.DefaultAllocator, schema),
		ipcw: ipcw,
	}
}

// Write appends the rows of b. Every extra column of the schema must be in
// b.Extra. On error the writer is aborted.
func (w *ImageWriter) Write(b ImageBatch) error {
	if w.closed {
		return fmt.Errorf("%s: write after Close or Abort", w.name)
	}
	if err := w.check(b); err != nil {
		w.Abort()
		return fmt.Errorf("%s: %w", w.name, err)
	}
	for start := 0; start < b.Len(); {
		k := min(b.Len()-start, BatchRows-w.pending)
		w.appendRows(b, start, start+k)
		start += k
		if w.pending == BatchRows {
			if err := w.flush(); err != nil {
				w.Abort()
				return err
			}
		}
	}
	return nil
}

func (w *ImageWriter) check(b ImageBatch) error {
	n := b.Len()
	if len(b.Index) != n || len(b.Pixels) != n*ImageSize {
		return fmt.Errorf("inconsistent batch: %d labels, %d indexes, %d pixel bytes", n, len(b.Index), len(b.Pixels))
	}
	for _, name := range w.cols.extra {
		if len(b.Extra[name]) != n {
			return fmt.Errorf("inconsistent batch: %d labels, %d values in column %q", n, len(b.Extra[name]), name)
		}
	}
	if i := badLabel(b.Label); i >= 0 {
		return fmt.Errorf("row %d of batch: label %d out of range 0-9", i, b.Label[i])
	}
	return nil
}

func (w *ImageWriter) appendRows(b ImageBatch, from, to int) {
	w.b.Field(w.cols.index).(*array.Int32Builder).AppendValues(b.Index[from:to], nil)
	w.b.Field(w.cols.label).(*array.Uint8Builder).AppendValues(b.Label[from:to], nil)
	img := w.b.Field(w.cols.image).(*array.FixedSizeListBuilder)
	for range to - from {
		img.Append(true)
	}
	img.ValueBuilder().(*array.Uint8Builder).AppendValues(b.Pixels[from*ImageSize:to*ImageSize], nil)
	for j, name := range w.cols.extra {
		w.b.Field(w.cols.extraCol[j]).(*array.Int32Builder).AppendValues(b.Extra[name][from:to], nil)
	}
	w.pending += to - from
}

func (w *ImageWriter) flush() error {
	rec := w.b.NewRecord()
	defer rec.Release()
	w.pending = 0
	if err := w.ipcw.Write(rec); err != nil {
		return fmt.Errorf("%s: %w", w.name, err)
	}
	return nil
}

// Close writes the remaining rows and the table's end, then publishes it.
// On error nothing is published.
func (w *ImageWriter) Close() error {
	if w.closed {
		return fmt.Errorf("%s: Close after Close or Abort", w.name)
	}
	err := w.finish()
	w.closed = true
	w.b.Release()
	if err != nil {
		w.abort()
		return err
	}
	return nil
}

func (w *ImageWriter) finish() error {
	if w.pending > 0 {
		if err := w.flush(); err != nil {
			return err
		}
	}
	if err := w.ipcw.Close(); err != nil {
		return fmt.Errorf("%s: %w", w.name, err)
	}
	return w.commit()
}

// Abort discards the table: a file output is removed, a stream is left
// without its end-of-stream marker. It is a no-op after Close, so it can be
// deferred.
func (w *ImageWriter) Abort() {
	if w.closed {
		return
	}
	w.closed = true
	w.b.Release()
	w.abort()
}
