package features

import (
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"

	"github.com/simclr-go/simclr/pkg/arrowio"
)

// Reader reads a feature table batch by batch, from an Arrow IPC file or
// stream:
//
//	r, err := features.Open(path)
//	...
//	defer r.Close()
//	for r.Next() {
//		b := r.Batch()
//		...
//	}
//	if err := r.Err(); err != nil { ... }
//
// Every batch is checked: no nulls, labels within the class list, finite
// features. Errors name the input.
type Reader struct {
	name   string
	src    *arrowio.RecordReader
	file   *os.File // opened by Open
	size   int64    // of the file Open opened, to size ReadAll's slices
	schema *arrow.Schema
	cols   layout
	rows   int // rows read so far, to locate errors
	batch  Batch
	err    error
	done   bool
}

// Open opens the feature table at path, or standard input when path is "-".
func Open(path string) (*Reader, error) {
	if path == "-" {
		return NewReader(os.Stdin, "<stdin>")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := NewReader(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.file = f
	if st, err := f.Stat(); err == nil {
		r.size = st.Size()
	}
	return r, nil
}

// NewReader reads a feature table from r, which must be at its start; name
// identifies it in errors. It holds an Arrow IPC file or stream, which
// arrowio.OpenIPC tells apart.
func NewReader(r io.Reader, name string) (*Reader, error) {
	src, err := arrowio.OpenIPC(r, name)
	if err != nil {
		return nil, err
	}
	schema := src.Schema()
	cols, err := checkSchema(schema)
	if err != nil {
		src.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &Reader{name: name, src: src, schema: schema, cols: cols}, nil
}

// Name returns the name the reader reports in errors.
func (r *Reader) Name() string { return r.name }

// Dim returns the feature width D.
func (r *Reader) Dim() int { return r.cols.dim }

// Metadata returns the table's schema metadata.
func (r *Reader) Metadata() map[string]string { return r.schema.Metadata().ToMap() }

// ClassNames returns the class names, indexed by label.
func (r *Reader) ClassNames() []string { return r.cols.classes }

// Next advances to the next batch. It returns false at the end of the table
// or on error; Err tells which.
func (r *Reader) Next() bool {
	if r.err != nil || r.done {
		return false
	}
	rec, err := r.src.Read()
	switch {
	case err == io.EOF:
		r.done = true
		return false
	case err != nil:
		r.err = err
		return false
	}
	if err := r.load(rec); err != nil {
		r.err = fmt.Errorf("%s: after %d rows: %w", r.name, r.rows, err)
		return false
	}
	r.rows += r.batch.Len()
	return true
}

// load points r.batch at rec's columns and checks their values.
func (r *Reader) load(rec arrow.Record) error {
	n := int(rec.NumRows())
	for i, col := range rec.Columns() {
		if col.NullN() > 0 {
			return fmt.Errorf("column %q: %d null values", rec.ColumnName(i), col.NullN())
		}
	}
	feat := rec.Column(r.cols.feature).(*array.FixedSizeList)
	vals := feat.ListValues().(*array.Float32)
	start := feat.Data().Offset() * r.cols.dim
	if vals.NullN() > 0 || vals.Len() < start+n*r.cols.dim {
		return fmt.Errorf("column %q: feature values missing or null", ColFeature)
	}
	b := Batch{
		Index:    rec.Column(r.cols.index).(*array.Int32).Int32Values(),
		Label:    rec.Column(r.cols.label).(*array.Uint8).Uint8Values(),
		Features: vals.Float32Values()[start : start+n*r.cols.dim],
	}
	if err := r.cols.check(b, r.rows); err != nil {
		return err
	}
	r.batch = b
	return nil
}

// Batch returns the current batch. Its slices point into the reader's
// buffers and are valid until the next call to Next.
func (r *Reader) Batch() Batch { return r.batch }

// Err returns the error that stopped Next, if any.
func (r *Reader) Err() error { return r.err }

// Close releases the reader and closes the file Open opened.
func (r *Reader) Close() error {
	err := r.src.Close()
	if r.file != nil {
		if cerr := r.file.Close(); err == nil {
			err = cerr
		}
		r.file = nil
	}
	return err
}

// Table is a whole feature table in memory.
type Table struct {
	Name       string // the path read, or "<stdin>"
	Dim        int
	Index      []int32
	Label      []uint8
	Features   []float32 // Len()*Dim values, row after row
	Metadata   map[string]string
	ClassNames []string
}

// Len returns the number of rows.
func (t *Table) Len() int { return len(t.Label) }

// Row returns row i's features.
func (t *Table) Row(i int) []float32 { return t.Features[i*t.Dim : (i+1)*t.Dim] }

// ReadAll reads the whole feature table at path, or standard input when path
// is "-". CIFAR-10's 50,000 training rows of width 512 take 100 MB.
func ReadAll(path string) (*Table, error) {
	r, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return readAll(r)
}

// ReadAllFrom reads a whole feature table from r; name identifies it in errors.
func ReadAllFrom(r io.Reader, name string) (*Table, error) {
	fr, err := NewReader(r, name)
	if err != nil {
		return nil, err
	}
	defer fr.Close()
	return readAll(fr)
}

func readAll(r *Reader) (*Table, error) {
	t := &Table{Name: r.name, Dim: r.Dim(), Metadata: r.Metadata(), ClassNames: r.ClassNames()}
	// A file holds at most this many rows: allocating that much up front
	// saves copying a growing 100 MB slice.
	if rows := int(r.size / int64(4*t.Dim+4+1)); rows > 0 {
		t.Index, t.Label, t.Features = make([]int32, 0, rows), make([]uint8, 0, rows), make([]float32, 0, rows*t.Dim)
	}
	for r.Next() {
		b := r.Batch()
		t.Index = append(t.Index, b.Index...)
		t.Label = append(t.Label, b.Label...)
		t.Features = append(t.Features, b.Features...)
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	return t, nil
}
