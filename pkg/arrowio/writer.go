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
	schema  *arrow.Schema
	cols    layout
	pending ImageBatch // rows waiting for a full record batch
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
	w := &ImageWriter{name: name, schema: schema, cols: cols, ipcw: ipcw}
	w.pending = ImageBatch{
		Index:  make([]int32, 0, BatchRows),
		Label:  make([]uint8, 0, BatchRows),
		Pixels: make([]uint8, 0, BatchRows*ImageSize),
	}
	if len(cols.extra) > 0 {
		w.pending.Extra = map[string][]int32{}
		for _, name := range cols.extra {
			w.pending.Extra[name] = make([]int32, 0, BatchRows)
		}
	}
	return w
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
		var err error
		if p := w.pending.Len(); p == 0 && b.Len()-start >= BatchRows {
			// A whole record batch in b: write it from b's memory, no copy.
			err = w.writeRecord(b.slice(start, start+BatchRows))
			start += BatchRows
		} else {
			end := start + min(b.Len()-start, BatchRows-p)
			w.pending.append(b.slice(start, end))
			start = end
			if w.pending.Len() == BatchRows {
				err = w.flush()
			}
		}
		if err != nil {
			w.Abort()
			return err
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

// slice returns rows [from, to) of b, sharing its memory.
func (b ImageBatch) slice(from, to int) ImageBatch {
	s := ImageBatch{
		Index:  b.Index[from:to],
		Label:  b.Label[from:to],
		Pixels: b.Pixels[from*ImageSize : to*ImageSize],
	}
	if b.Extra != nil {
		s.Extra = make(map[string][]int32, len(b.Extra))
		for name, col := range b.Extra {
			s.Extra[name] = col[from:to]
		}
	}
	return s
}

// append copies the rows of o to the end of b, for the columns b has.
func (b *ImageBatch) append(o ImageBatch) {
	b.Index = append(b.Index, o.Index...)
	b.Label = append(b.Label, o.Label...)
	b.Pixels = append(b.Pixels, o.Pixels...)
	for name, col := range b.Extra {
		b.Extra[name] = append(col, o.Extra[name]...)
	}
}

// flush writes the pending rows and empties the buffer for reuse.
func (w *ImageWriter) flush() error {
	err := w.writeRecord(w.pending)
	p := &w.pending
	p.Index, p.Label, p.Pixels = p.Index[:0], p.Label[:0], p.Pixels[:0]
	for name, col := range p.Extra {
		p.Extra[name] = col[:0]
	}
	return err
}

// writeRecord writes b as one record batch whose arrays wrap b's slices:
// the IPC writer has copied them out by the time it returns.
func (w *ImageWriter) writeRecord(b ImageBatch) error {
	n := b.Len()
	cols := make([]arrow.Array, len(w.schema.Fields()))
	cols[w.cols.index] = primitive(arrow.PrimitiveTypes.Int32, n, arrow.Int32Traits.CastToBytes(b.Index))
	cols[w.cols.label] = primitive(arrow.PrimitiveTypes.Uint8, n, b.Label)
	pixels := array.NewData(arrow.PrimitiveTypes.Uint8, n*ImageSize, []*memory.Buffer{nil, memory.NewBufferBytes(b.Pixels)}, nil, 0, 0)
	images := array.NewData(w.schema.Field(w.cols.image).Type, n, []*memory.Buffer{nil}, []arrow.ArrayData{pixels}, 0, 0)
	cols[w.cols.image] = array.MakeFromData(images)
	pixels.Release()
	images.Release()
	for j, name := range w.cols.extra {
		cols[w.cols.extraCol[j]] = primitive(arrow.PrimitiveTypes.Int32, n, arrow.Int32Traits.CastToBytes(b.Extra[name]))
	}
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
func (w *ImageWriter) Close() error {
	if w.closed {
		return fmt.Errorf("%s: Close after Close or Abort", w.name)
	}
	w.closed = true
	if err := w.finish(); err != nil {
		w.abort()
		return err
	}
	return nil
}

func (w *ImageWriter) finish() error {
	if w.pending.Len() > 0 {
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
	w.abort()
}
