package arrowio

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/simclr-go/simclr/pkg/atomicfile"
)

// RecordWriter writes a table whose columns hold fixed-width values
// (primitives, and fixed-size lists of them) or strings, without nulls, as Arrow IPC:
// a file, which Close publishes atomically, or a stream. The image and
// feature writers check their rows and hand them on to it. Its errors name
// the output.
type RecordWriter struct {
	name    string
	schema  *arrow.Schema
	width   []int // bytes per row of each column; varWidth for a string column
	asGiven bool
	pending [][]byte // rows waiting to fill a record batch, column by column
	npend   int
	ipcw    interface {
		Write(arrow.Record) error
		Close() error
	}
	flush  func() error // after each batch written as given
	commit func() error // publishes the output after the IPC writer closes; errors name it
	abort  func()
	closed bool
}

// WriteOptions adjust a RecordWriter.
type WriteOptions struct {
	// AsGiven writes the rows of each Write as one record batch and flushes
	// a stream after it, for tables whose batches mean something and for
	// readers that consume them as they come. Otherwise rows are regrouped
	// into record batches of BatchRows rows.
	AsGiven bool
}

// CreateIPC writes a table with the given schema to path as an Arrow IPC
// file, atomically: nothing appears at path unless Close succeeds.
func CreateIPC(path string, schema *arrow.Schema, opts WriteOptions) (*RecordWriter, error) {
	width, err := rowWidths(schema)
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
	w := newRecordWriter(path, schema, width, opts, fw)
	w.flush, w.commit, w.abort = func() error { return nil }, f.Commit, f.Abort
	return w, nil
}

// NewIPCWriter writes a table with the given schema to w as an Arrow IPC
// stream; name identifies it in errors. Only Close writes the end-of-stream
// marker, so readers of an aborted stream see it as truncated.
func NewIPCWriter(w io.Writer, name string, schema *arrow.Schema, opts WriteOptions) (*RecordWriter, error) {
	width, err := rowWidths(schema)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	rw := newRecordWriter(name, schema, width, opts, ipc.NewWriter(bw, ipc.WithSchema(schema)))
	rw.flush = func() error {
		if err := bw.Flush(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	}
	rw.commit, rw.abort = rw.flush, func() {}
	return rw, nil
}

func newRecordWriter(name string, schema *arrow.Schema, width []int, opts WriteOptions, ipcw interface {
	Write(arrow.Record) error
	Close() error
}) *RecordWriter {
	w := &RecordWriter{name: name, schema: schema, width: width, asGiven: opts.AsGiven, ipcw: ipcw}
	if !w.asGiven {
		w.pending = make([][]byte, len(width))
		for i, n := range width {
			w.pending[i] = make([]byte, 0, BatchRows*max(n, 16)) // a string column: a guess that grows
		}
	}
	return w
}

// varWidth marks a string column in RecordWriter.width.
const varWidth = -1

// rowWidths returns the bytes per row of each column of schema.
func rowWidths(schema *arrow.Schema) ([]int, error) {
	width := make([]int, len(schema.Fields()))
	for i, f := range schema.Fields() {
		if f.Type.ID() == arrow.STRING {
			width[i] = varWidth
			continue
		}
		typ, n := f.Type, 1
		if l, ok := typ.(*arrow.FixedSizeListType); ok {
			typ, n = l.Elem(), int(l.Len())
		}
		// Booleans are fixed-width too, but packed 8 to the byte.
		fw, ok := typ.(arrow.FixedWidthDataType)
		if !ok || fw.BitWidth()%8 != 0 {
			return nil, fmt.Errorf("column %q: %s is not a fixed-width type of whole bytes", f.Name, f.Type)
		}
		width[i] = n * fw.BitWidth() / 8
	}
	return width, nil
}

// Write appends n rows. cols holds one column per schema field, in order:
// its n values as little-endian bytes (arrow.Int32Traits.CastToBytes and
// the like give them); for a string column, the n strings each followed by
// a NUL byte (StringColumn), so its values cannot hold one. On error the
// writer is aborted.
func (w *RecordWriter) Write(n int, cols ...[]byte) error {
	if w.closed {
		return fmt.Errorf("%s: write after Close or Abort", w.name)
	}
	if err := w.check(n, cols); err != nil {
		w.Abort()
		return fmt.Errorf("%s: %w", w.name, err)
	}
	if err := w.write(n, cols); err != nil {
		w.Abort()
		return err
	}
	return nil
}

func (w *RecordWriter) check(n int, cols [][]byte) error {
	if len(cols) != len(w.width) {
		return fmt.Errorf("%d columns, want %d", len(cols), len(w.width))
	}
	for i, c := range cols {
		if w.width[i] == varWidth {
			if got := bytes.Count(c, nul); got != n || (n > 0 && c[len(c)-1] != 0) {
				return fmt.Errorf("column %q: %d NUL-terminated strings, want %d", w.schema.Field(i).Name, got, n)
			}
			continue
		}
		if len(c) != n*w.width[i] {
			return fmt.Errorf("column %q: %d bytes for %d rows, want %d", w.schema.Field(i).Name, len(c), n, n*w.width[i])
		}
	}
	return nil
}

// StringColumn encodes values as a string column for RecordWriter.Write.
func StringColumn(values []string) []byte {
	var n int
	for _, v := range values {
		n += len(v) + 1
	}
	b := make([]byte, 0, n)
	for _, v := range values {
		b = append(append(b, v...), 0)
	}
	return b
}

var nul = []byte{0}

func (w *RecordWriter) write(n int, cols [][]byte) error {
	if w.asGiven {
		if err := w.writeRecord(n, cols); err != nil {
			return err
		}
		// A reader at the other end of a pipe is waiting for this batch.
		return w.flush()
	}
	for start := 0; start < n; {
		if w.npend == 0 && n-start >= BatchRows {
			// A whole record batch in cols: write it from their memory, no copy.
			if err := w.writeRecord(BatchRows, w.rows(cols, start, start+BatchRows)); err != nil {
				return err
			}
			start += BatchRows
			continue
		}
		end := start + min(n-start, BatchRows-w.npend)
		for i, c := range w.rows(cols, start, end) {
			w.pending[i] = append(w.pending[i], c...)
		}
		w.npend += end - start
		start = end
		if w.npend == BatchRows {
			if err := w.flushPending(); err != nil {
				return err
			}
		}
	}
	return nil
}

// rows returns rows [from, to) of cols, sharing their memory.
func (w *RecordWriter) rows(cols [][]byte, from, to int) [][]byte {
	out := make([][]byte, len(cols))
	for i, c := range cols {
		if w.width[i] == varWidth {
			out[i] = c[nthString(c, from):nthString(c, to)]
			continue
		}
		out[i] = c[from*w.width[i] : to*w.width[i]]
	}
	return out
}

// nthString returns the offset of string k in NUL-terminated strings c.
func nthString(c []byte, k int) int {
	off := 0
	for ; k > 0; k-- {
		off += bytes.IndexByte(c[off:], 0) + 1
	}
	return off
}

// flushPending writes the pending rows and empties the buffers for reuse.
func (w *RecordWriter) flushPending() error {
	err := w.writeRecord(w.npend, w.pending)
	for i := range w.pending {
		w.pending[i] = w.pending[i][:0]
	}
	w.npend = 0
	return err
}

// writeRecord writes n rows as one record batch whose arrays wrap cols:
// the IPC writer has copied them out by the time it returns.
func (w *RecordWriter) writeRecord(n int, cols [][]byte) error {
	arrs := make([]arrow.Array, len(cols))
	for i, f := range w.schema.Fields() {
		arrs[i] = fixedWidth(f.Type, n, cols[i])
	}
	rec := array.NewRecord(w.schema, arrs, int64(n))
	for _, a := range arrs {
		a.Release()
	}
	defer rec.Release()
	if err := w.ipcw.Write(rec); err != nil {
		return fmt.Errorf("%s: %w", w.name, err)
	}
	return nil
}

// fixedWidth wraps the bytes of n values of typ, a fixed-width type or a
// fixed-size list of one, as an array without nulls; for a string type, it
// builds the array from n NUL-terminated strings.
func fixedWidth(typ arrow.DataType, n int, data []byte) arrow.Array {
	var d arrow.ArrayData
	if l, ok := typ.(*arrow.FixedSizeListType); ok {
		vals := array.NewData(l.Elem(), n*int(l.Len()), []*memory.Buffer{nil, memory.NewBufferBytes(data)}, nil, 0, 0)
		d = array.NewData(typ, n, []*memory.Buffer{nil}, []arrow.ArrayData{vals}, 0, 0)
		vals.Release()
	} else if typ.ID() == arrow.STRING {
		offsets := make([]int32, n+1)
		chars := make([]byte, 0, len(data)-n)
		for i := range n {
			end := bytes.IndexByte(data, 0)
			chars = append(chars, data[:end]...)
			data = data[end+1:]
			offsets[i+1] = int32(len(chars))
		}
		d = array.NewData(typ, n, []*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offsets)), memory.NewBufferBytes(chars)}, nil, 0, 0)
	} else {
		d = array.NewData(typ, n, []*memory.Buffer{nil, memory.NewBufferBytes(data)}, nil, 0, 0)
	}
	defer d.Release()
	return array.MakeFromData(d)
}

// Close writes the remaining rows and the table's end, then publishes it.
// On error nothing is published.
func (w *RecordWriter) Close() error {
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

func (w *RecordWriter) finish() error {
	if w.npend > 0 {
		if err := w.flushPending(); err != nil {
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
func (w *RecordWriter) Abort() {
	if w.closed {
		return
	}
	w.closed = true
	w.abort()
}
