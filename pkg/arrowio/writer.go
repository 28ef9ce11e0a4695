package arrowio

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
)

// ImageWriter writes an image table in record batches of BatchRows rows,
// whatever the sizes of the batches handed to Write. Close publishes the
// table; Abort discards it.
type ImageWriter struct {
	rw   *RecordWriter
	cols layout
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
	rw, err := CreateIPC(path, schema, WriteOptions{})
	if err != nil {
		return nil, err
	}
	return &ImageWriter{rw: rw, cols: cols}, nil
}

// NewImageWriter writes an image table with the given schema to w as an Arrow
// IPC stream; name identifies it in errors. Only Close writes the
// end-of-stream marker, so readers of an aborted stream see it as truncated.
func NewImageWriter(w io.Writer, name string, schema *arrow.Schema) (*ImageWriter, error) {
	cols, err := checkSchema(schema)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	rw, err := NewIPCWriter(w, name, schema, WriteOptions{})
	if err != nil {
		return nil, err
	}
	return &ImageWriter{rw: rw, cols: cols}, nil
}

// Write appends the rows of b. Every extra column of the schema must be in
// b.Extra. On error the writer is aborted.
func (w *ImageWriter) Write(b ImageBatch) error {
	if err := w.check(b); err != nil {
		w.Abort()
		return fmt.Errorf("%s: %w", w.rw.name, err)
	}
	cols := make([][]byte, len(w.rw.width))
	cols[w.cols.index] = arrow.Int32Traits.CastToBytes(b.Index)
	cols[w.cols.label] = b.Label
	cols[w.cols.image] = b.Pixels
	for j, name := range w.cols.extra {
		cols[w.cols.extraCol[j]] = arrow.Int32Traits.CastToBytes(b.Extra[name])
	}
	if w.cols.path >= 0 {
		cols[w.cols.path] = StringColumn(b.Path)
	}
	return w.rw.Write(b.Len(), cols...)
}

func (w *ImageWriter) check(b ImageBatch) error {
	n := b.Len()
	if len(b.Index) != n || len(b.Pixels) != n*ImageSize {
		return fmt.Errorf("inconsistent batch: %d labels, %d indexes, %d pixel bytes", n, len(b.Index), len(b.Pixels))
	}
	if w.cols.path >= 0 {
		if len(b.Path) != n {
			return fmt.Errorf("inconsistent batch: %d labels, %d paths", n, len(b.Path))
		}
		for i, p := range b.Path {
			if strings.IndexByte(p, 0) >= 0 {
				return fmt.Errorf("row %d of batch: path %q holds a NUL byte", i, p)
			}
		}
	}
	for _, name := range w.cols.extra {
		if len(b.Extra[name]) != n {
			return fmt.Errorf("inconsistent batch: %d labels, %d values in column %q", n, len(b.Extra[name]), name)
		}
	}
	if i := w.cols.badLabel(b.Label); i >= 0 {
		return fmt.Errorf("row %d of batch: label %d out of range 0-%d", i, b.Label[i], len(w.cols.classes)-1)
	}
	return nil
}

// Close writes the remaining rows and the table's end, then publishes it.
// On error nothing is published.
func (w *ImageWriter) Close() error { return w.rw.Close() }

// Abort discards the table: a file output is removed, a stream is left
// without its end-of-stream marker. It is a no-op after Close, so it can be
// deferred.
func (w *ImageWriter) Abort() { w.rw.Abort() }
