package arrowio

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
)

// ImageBatch is a run of image-table rows as plain Go slices.
type ImageBatch struct {
	Index  []int32
	Label  []uint8
	Pixels []uint8 // len(Label)*ImageSize bytes, one CHW image per row
	// Path holds each row's file in a table with a path column, else nil.
	Path []string
	// Extra holds the extra int32 columns by name (nil when there are none).
	Extra map[string][]int32
}

// Len returns the number of rows.
func (b ImageBatch) Len() int { return len(b.Label) }

// Image returns row i's pixels.
func (b ImageBatch) Image(i int) []uint8 { return b.Pixels[i*ImageSize : (i+1)*ImageSize] }

// ImageReader reads an image table batch by batch, in either Arrow IPC file
// or stream format:
//
//	r, err := arrowio.OpenImages(path)
//	...
//	defer r.Close()
//	for r.Next() {
//		b := r.Batch()
//		...
//	}
//	if err := r.Err(); err != nil { ... }
type ImageReader struct {
	name   string
	src    *RecordReader
	file   *os.File // opened by OpenImages
	schema *arrow.Schema
	cols   layout
	rows   int // rows read so far, to locate errors
	batch  ImageBatch
	err    error
	done   bool
}

// OpenImages opens the image table at path, or standard input when path is "-".
func OpenImages(path string) (*ImageReader, error) {
	if path == "-" {
		return NewImageReader(os.Stdin, "<stdin>")
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := NewImageReader(f, path)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.file = f
	return r, nil
}

// NewImageReader reads an image table from r, which must be at the start of
// the table; name identifies it in errors. It holds an Arrow IPC file or
// stream, which OpenIPC tells apart.
func NewImageReader(r io.Reader, name string) (*ImageReader, error) {
	src, err := OpenIPC(r, name)
	if err != nil {
		return nil, err
	}
	ir := &ImageReader{name: name, src: src, schema: src.Schema()}
	cols, err := checkSchema(ir.schema)
	if err != nil {
		ir.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	ir.cols = cols
	if len(cols.extra) > 0 {
		ir.batch.Extra = make(map[string][]int32, len(cols.extra))
	}
	return ir, nil
}

// Schema returns the table's schema.
func (ir *ImageReader) Schema() *arrow.Schema { return ir.schema }

// Metadata returns the table's schema metadata.
func (ir *ImageReader) Metadata() map[string]string { return ir.schema.Metadata().ToMap() }

// NumRows returns the table's row count if it is known before reading (an
// IPC file's; see RecordReader.NumRows).
func (ir *ImageReader) NumRows() (int, bool) { return ir.src.NumRows() }

// ClassNames returns the class names, indexed by label: the schema's
// class_names, or the CIFAR-10 classes when it has none.
func (ir *ImageReader) ClassNames() []string { return ir.cols.classes }

// Labelled reports whether the table's labels mean something: false when
// its metadata says labelled = false (images without classes, all label 0).
func (ir *ImageReader) Labelled() bool { return Labelled(ir.Metadata()) }

// Labelled reports whether table metadata md describes labelled images.
func Labelled(md map[string]string) bool { return md[MetaLabelled] != "false" }

// HasPath reports whether the table has a path column.
func (ir *ImageReader) HasPath() bool { return ir.cols.path >= 0 }

// Extra returns the names of the extra int32 columns, in schema order.
func (ir *ImageReader) Extra() []string { return ir.cols.extra }

// Next advances to the next batch. It returns false at the end of the table
// or on error; Err tells which.
func (ir *ImageReader) Next() bool {
	if ir.err != nil || ir.done {
		return false
	}
	rec, err := ir.src.Read()
	switch {
	case err == io.EOF:
		ir.done = true
		return false
	case err != nil:
		ir.err = err
		return false
	}
	if err := ir.load(rec); err != nil {
		ir.err = fmt.Errorf("%s: %w", ir.name, err)
		return false
	}
	ir.rows += int(rec.NumRows())
	return true
}

// load points ir.batch at rec's columns, checking the values the schema
// cannot express: no nulls, labels within the class list, image data present in full.
func (ir *ImageReader) load(rec arrow.Record) error {
	n := int(rec.NumRows())
	for i, col := range rec.Columns() {
		if col.NullN() > 0 {
			return fmt.Errorf("column %q: %d null values at rows %d-%d", rec.ColumnName(i), col.NullN(), ir.rows, ir.rows+n-1)
		}
	}
	img := rec.Column(ir.cols.image).(*array.FixedSizeList)
	vals := img.ListValues().(*array.Uint8)
	start := img.Data().Offset() * ImageSize
	if vals.NullN() > 0 || vals.Len() < start+n*ImageSize {
		return fmt.Errorf("column %q: image values missing or null at rows %d-%d", ColImage, ir.rows, ir.rows+n-1)
	}
	b := ImageBatch{
		Index:  rec.Column(ir.cols.index).(*array.Int32).Int32Values(),
		Label:  rec.Column(ir.cols.label).(*array.Uint8).Uint8Values(),
		Pixels: vals.Uint8Values()[start : start+n*ImageSize],
		Extra:  ir.batch.Extra,
	}
	if i := ir.cols.badLabel(b.Label); i >= 0 {
		return fmt.Errorf("row %d: label %d out of range 0-%d", ir.rows+i, b.Label[i], len(ir.cols.classes)-1)
	}
	for j, name := range ir.cols.extra {
		b.Extra[name] = rec.Column(ir.cols.extraCol[j]).(*array.Int32).Int32Values()
	}
	if ir.cols.path >= 0 {
		col := rec.Column(ir.cols.path).(*array.String)
		b.Path = make([]string, n)
		for i := range b.Path {
			b.Path[i] = strings.Clone(col.Value(i))
		}
	}
	ir.batch = b
	return nil
}

// badLabel returns the position of the first label beyond the class list, or -1.
func (c layout) badLabel(labels []uint8) int {
	for i, l := range labels {
		if int(l) >= len(c.classes) {
			return i
		}
	}
	return -1
}

// Batch returns the current batch. Its slices point into the reader's
// buffers and are valid until the next call to Next.
func (ir *ImageReader) Batch() ImageBatch { return ir.batch }

// Err returns the error that stopped Next, if any.
func (ir *ImageReader) Err() error { return ir.err }

// Close releases the reader and closes the file OpenImages opened.
func (ir *ImageReader) Close() error {
	err := ir.src.Close()
	if ir.file != nil {
		if cerr := ir.file.Close(); err == nil {
			err = cerr
		}
		ir.file = nil
	}
	return err
}
