package features

import (
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/simclr-go/simclr/pkg/arrowio"
)

// Writer writes a feature table in record batches of arrowio.BatchRows rows,
// whatever the sizes of the batches handed to Write. Close publishes the
// table; Abort discards it.
type Writer struct {
	name string
	cols layout
	rows int // rows written, to locate errors
	rw   *arrowio.RecordWriter
}

// Create writes a feature table of width dim with schema metadata meta (see
// Schema) to path as an Arrow IPC file, atomically: nothing appears at path
// unless Close succeeds. When path is "-" it writes an IPC stream to
// standard output.
func Create(path string, dim int, meta map[string]string) (*Writer, error) {
	if path == "-" {
		return NewWriter(os.Stdout, "<stdout>", dim, meta)
	}
	schema, err := Schema(dim, meta)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rw, err := arrowio.CreateIPC(path, schema, arrowio.WriteOptions{})
	if err != nil {
		return nil, err
	}
	return newWriter(path, schema, rw), nil
}

// NewWriter writes a feature table of width dim to w as an Arrow IPC stream;
// name identifies it in errors. Only Close writes the end-of-stream marker,
// so readers of an aborted stream see it as truncated.
func NewWriter(w io.Writer, name string, dim int, meta map[string]string) (*Writer, error) {
	schema, err := Schema(dim, meta)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	rw, err := arrowio.NewIPCWriter(w, name, schema, arrowio.WriteOptions{})
	if err != nil {
		return nil, err
	}
	return newWriter(name, schema, rw), nil
}

func newWriter(name string, schema *arrow.Schema, rw *arrowio.RecordWriter) *Writer {
	cols, err := checkSchema(schema)
	if err != nil {
		panic(err) // Schema builds only valid schemas
	}
	return &Writer{name: name, cols: cols, rw: rw}
}

// Dim returns the feature width D.
func (w *Writer) Dim() int { return w.cols.dim }

// Write appends the rows of b, whose Features hold b.Len()*Dim() values.
// On error the writer is aborted.
func (w *Writer) Write(b Batch) error {
	if err := w.cols.check(b, w.rows); err != nil {
		w.Abort()
		return fmt.Errorf("%s: %w", w.name, err)
	}
	cols := make([][]byte, 3)
	cols[w.cols.index] = arrow.Int32Traits.CastToBytes(b.Index)
	cols[w.cols.label] = b.Label
	cols[w.cols.feature] = arrow.Float32Traits.CastToBytes(b.Features)
	if err := w.rw.Write(b.Len(), cols...); err != nil {
		return err
	}
	w.rows += b.Len()
	return nil
}

// Close writes the remaining rows and the table's end, then publishes it.
// On error nothing is published.
func (w *Writer) Close() error { return w.rw.Close() }

// Abort discards the table: a file output is removed, a stream is left
// without its end-of-stream marker. It is a no-op after Close, so it can be
// deferred.
func (w *Writer) Abort() { w.rw.Abort() }
