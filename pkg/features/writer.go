package features

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/simclr-go/simclr/pkg/arrowio"
	"github.com/simclr-go/simclr/pkg/atomicfile"
)

// Writer writes a feature table in record batches of arrowio.BatchRows rows,
// whatever the sizes of the batches handed to Write. Close publishes the
// table; Abort discards it.
type Writer struct {
	name    string
	schema  *arrow.Schema
	cols    layout
	pending Batch // rows waiting to fill a record batch
	rows    int   // rows written, to locate errors
	ipcw    interface {
		Write(arrow.Record) error
		Close() error
	}
	commit func() error // publishes the output once the IPC writer is closed
	abort  func()
	closed bool
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
	f, err := atomicfile.Create(path)
	if err != nil {
		return nil, err
	}
	fw, err := ipc.NewFileWriter(f, ipc.WithSchema(schema))
	if err != nil {
		f.Abort()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	w := newWriter(path, schema, fw)
	w.commit, w.abort = f.Commit, f.Abort
	return w, nil
}

// NewWriter writes a feature table of width dim to w as an Arrow IPC stream;
// name identifies it in errors. Only Close writes the end-of-stream marker,
// so readers of an aborted stream see it as truncated.
func NewWriter(w io.Writer, name string, dim int, meta map[string]string) (*Writer, error) {
	schema, err := Schema(dim, meta)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	fw := newWriter(name, schema, ipc.NewWriter(bw, ipc.WithSchema(schema)))
	fw.commit = bw.Flush
	fw.abort = func() {}
	return fw, nil
}

func newWriter(name string, schema *arrow.Schema, ipcw interface {
	Write(arrow.Record) error
	Close() error
}) *Writer {
	cols, err := checkSchema(schema)
	if err != nil {
		panic(err) // Schema builds only valid schemas
	}
	return &Writer{
		name:   name,
		schema: schema,
		cols:   cols,
		pending: Batch{
			Index:    make([]int32, 0, arrowio.BatchRows),
			Label:    make([]uint8, 0, arrowio.BatchRows),
			Features: make([]float32, 0, arrowio.BatchRows*cols.dim),
		},
		ipcw: ipcw,
	}
}

// Dim returns the feature width D.
func (w *Writer) Dim() int { return w.cols.dim }

// Write appends the rows of b, whose Features hold b.Len()*Dim() values.
// On error the writer is aborted.
func (w *Writer) Write(b Batch) error {
	if w.closed {
		return fmt.Errorf("%s: write: %w", w.name, errClosed)
	}
	if err := w.cols.check(b, w.rows); err != nil {
		w.Abort()
		return fmt.Errorf("%s: %w", w.name, err)
	}
	const full = arrowio.BatchRows
	for start := 0; start < b.Len(); {
		var err error
		if p := w.pending.Len(); p == 0 && b.Len()-start >= full {
			// A whole record batch in b: write it from b's memory, no copy.
			err = w.writeRecord(b.slice(start, start+full, w.cols.dim))
			start += full
		} else {
			end := start + min(b.Len()-start, full-p)
			w.pending.append(b.slice(start, end, w.cols.dim))
			start = end
			if w.pending.Len() == full {
				err = w.flush()
			}
		}
		if err != nil {
			w.Abort()
			return err
		}
	}
	w.rows += b.Len()
	return nil
}

// slice returns rows [from, to) of b, sharing its memory.
func (b Batch) slice(from, to, dim int) Batch {
	return Batch{Index: b.Index[from:to], Label: b.Label[from:to], Features: b.Features[from*dim : to*dim]}
}

// append copies the rows of o to the end of b.
func (b *Batch) append(o Batch) {
	b.Index = append(b.Index, o.Index...)
	b.Label = append(b.Label, o.Label...)
	b.Features = append(b.Features, o.Features...)
}

// flush writes the pending rows and empties the buffer for reuse.
func (w *Writer) flush() error {
	err := w.writeRecord(w.pending)
	w.pending = w.pending.slice(0, 0, 0)
	return err
}

// writeRecord writes b as one record batch whose arrays wrap b's slices:
// the IPC writer has copied them out by the time it returns.
func (w *Writer) writeRecord(b Batch) error {
	n := b.Len()
	cols := make([]arrow.Array, len(w.schema.Fields()))
	cols[w.cols.index] = primitive(arrow.PrimitiveTypes.Int32, n, arrow.Int32Traits.CastToBytes(b.Index))
	cols[w.cols.label] = primitive(arrow.PrimitiveTypes.Uint8, n, b.Label)
	vals := array.NewData(arrow.PrimitiveTypes.Float32, len(b.Features), []*memory.Buffer{nil, memory.NewBufferBytes(arrow.Float32Traits.CastToBytes(b.Features))}, nil, 0, 0)
	feat := array.NewData(w.schema.Field(w.cols.feature).Type, n, []*memory.Buffer{nil}, []arrow.ArrayData{vals}, 0, 0)
	cols[w.cols.feature] = array.MakeFromData(feat)
	vals.Release()
	feat.Release()
	rec := array.NewRecord(w.schema, cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	defer rec.Release()
	if err := w.ipcw.Write(rec); err != nil {
		return fmt.Errorf("%s: %w", w.name, err)
	}
	return nil
}

// primitive wraps a fixed-width column's bytes as an array without nulls.
func primitive(typ arrow.DataType, n int, data []byte) arrow.Array {
	d := array.NewData(typ, n, []*memory.Buffer{nil, memory.NewBufferBytes(data)}, nil, 0, 0)
	defer d.Release()
	return array.MakeFromData(d)
}

// Close writes the remaining rows and the table's end, then publishes it.
// On error nothing is published.
func (w *Writer) Close() error {
	if w.closed {
		return fmt.Errorf("%s: close: %w", w.name, errClosed)
	}
	err := w.finish()
	w.closed = true
	if err != nil {
		w.abort()
		return err
	}
	return nil
}

func (w *Writer) finish() error {
	if w.pending.Len() > 0 {
		if err := w.flush(); err != nil {
			return err
		}
	}
	if err := w.ipcw.Close(); err != nil {
		return fmt.Errorf("%s: %w", w.name, err)
	}
	if err := w.commit(); err != nil {
		return fmt.Errorf("%s: %w", w.name, err)
	}
	return nil
}

// Abort discards the table: a file output is removed, a stream is left
// without its end-of-stream marker. It is a no-op after Close, so it can be
// deferred.
func (w *Writer) Abort() {
	if w.closed {
		return
	}
	w.closed = true
	w.abort()
}
