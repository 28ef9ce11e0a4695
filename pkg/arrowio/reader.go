package arrowio

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
)

// ImageBatch is a run of image-table rows as plain Go slices.
type ImageBatch struct {
	Index  []int32
	Label  []uint8
	Pixels []uint8 // len(Label)*ImageSize bytes, one CHW image per row
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
	src    recordSource
	eof    *eofWatch   // stream input only: did the stream end without its end-of-stream marker?
	closer []io.Closer // closed in reverse order
	schema *arrow.Schema
	cols   layout
	rows   int // rows read so far, to locate errors
	batch  ImageBatch
	err    error
	done   bool
}

// recordSource is what ipc.Reader and ipc.FileReader have in common.
type recordSource interface {
	Schema() *arrow.Schema
	Read() (arrow.Record, error)
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
	r.closer = append(r.closer, f)
	return r, nil
}

// NewImageReader reads an image table from r, which must be at the start of
// the table; name identifies it in errors. The format is detected: Arrow IPC
// file (magic "ARROW1") or IPC stream. A stream must end with the
// end-of-stream marker, so that a cut pipe is an error and not a short table.
func NewImageReader(r io.Reader, name string) (*ImageReader, error) {
	ir := &ImageReader{name: name}
	if err := ir.open(r); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	ir.schema = ir.src.Schema()
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

var fileMagic = []byte("ARROW1")

// maxSchemaMessage bounds the first message of a stream: a schema is a few
// KiB, so anything larger is not one.
const maxSchemaMessage = 1 << 24

func (ir *ImageReader) open(r io.Reader) error {
	if ra, ok := seekable(r); ok {
		magic := make([]byte, len(fileMagic))
		if _, err := ra.ReadAt(magic, 0); err == nil && bytes.Equal(magic, fileMagic) {
			return ir.openFile(ra)
		}
	}
	br := bufio.NewReaderSize(r, 1<<16)
	magic, err := br.Peek(len(fileMagic))
	switch {
	case len(magic) == 0 && err != nil:
		if err == io.EOF {
			return errors.New("empty input, want an Arrow IPC file or stream")
		}
		return err
	case bytes.Equal(magic, fileMagic):
		// An IPC file arriving through a pipe: its footer, which locates the
		// batches, comes last, so take it all in.
		data, err := io.ReadAll(br)
		if err != nil {
			return err
		}
		return ir.openFile(bytes.NewReader(data))
	}
	// Check the first message's framing before the IPC reader trusts its
	// length: arbitrary bytes would make it allocate up to 2 GiB, or panic.
	head, _ := br.Peek(8)
	if len(head) < 8 || binary.LittleEndian.Uint32(head) != 0xFFFFFFFF {
		return errors.New("not an Arrow IPC file or stream")
	}
	if n := binary.LittleEndian.Uint32(head[4:]); n == 0 || n > maxSchemaMessage {
		return fmt.Errorf("not an Arrow IPC file or stream: schema message of %d bytes", n)
	}
	ir.eof = &eofWatch{r: br}
	sr, err := ipc.NewReader(ir.eof)
	if err != nil {
		return fmt.Errorf("not an Arrow IPC file or stream: %w", err)
	}
	ir.src = sr
	ir.closer = append(ir.closer, releaser{sr})
	return nil
}

func (ir *ImageReader) openFile(r ipc.ReadAtSeeker) error {
	fr, err := ipc.NewFileReader(r)
	if err != nil {
		return fmt.Errorf("not a valid Arrow IPC file: %w", err)
	}
	ir.src = fr
	ir.closer = append(ir.closer, fr)
	return nil
}

// seekable reports whether r supports random access (a regular file, an
// in-memory reader), which the IPC file format needs.
func seekable(r io.Reader) (ipc.ReadAtSeeker, bool) {
	ra, ok := r.(ipc.ReadAtSeeker)
	if !ok {
		return nil, false
	}
	if f, isFile := r.(*os.File); isFile {
		st, err := f.Stat()
		return ra, err == nil && st.Mode().IsRegular()
	}
	return ra, true
}

// eofWatch notes whether its reader was asked for bytes past the end. The IPC
// stream reader stops at the end-of-stream marker without reading further, so
// hitting the end means the marker was missing: the stream was cut short.
type eofWatch struct {
	r   io.Reader
	hit bool
}

func (e *eofWatch) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if n == 0 && err == io.EOF {
		e.hit = true
	}
	return n, err
}

type releaser struct{ r *ipc.Reader }

func (r releaser) Close() error { r.r.Release(); return nil }

// Schema returns the table's schema.
func (ir *ImageReader) Schema() *arrow.Schema { return ir.schema }

// Metadata returns the table's schema metadata.
func (ir *ImageReader) Metadata() map[string]string { return ir.schema.Metadata().ToMap() }

// Extra returns the names of the extra int32 columns, in schema order.
func (ir *ImageReader) Extra() []string { return ir.cols.extra }

// Next advances to the next batch. It returns false at the end of the table
// or on error; Err tells which.
func (ir *ImageReader) Next() bool {
	if ir.err != nil || ir.done {
		return false
	}
	rec, err := ir.read()
	switch {
	case err == io.EOF && ir.eof != nil && ir.eof.hit:
		ir.err = fmt.Errorf("%s: truncated: stream ends after %d rows without an end-of-stream marker", ir.name, ir.rows)
		return false
	case err == io.EOF:
		ir.done = true
		return false
	case err != nil:
		ir.err = fmt.Errorf("%s: after %d rows: %w", ir.name, ir.rows, err)
		return false
	}
	if err := ir.load(rec); err != nil {
		ir.err = fmt.Errorf("%s: %w", ir.name, err)
		return false
	}
	ir.rows += int(rec.NumRows())
	return true
}

// read returns the next record, turning a panic of the IPC decoder on a
// corrupt file into an error.
func (ir *ImageReader) read() (rec arrow.Record, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("corrupt record batch: %v", p)
		}
	}()
	return ir.src.Read()
}

// load points ir.batch at rec's columns, checking the values the schema
// cannot express: no nulls, labels 0-9, image data present in full.
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
	if i := badLabel(b.Label); i >= 0 {
		return fmt.Errorf("row %d: label %d out of range 0-9", ir.rows+i, b.Label[i])
	}
	for j, name := range ir.cols.extra {
		b.Extra[name] = rec.Column(ir.cols.extraCol[j]).(*array.Int32).Int32Values()
	}
	ir.batch = b
	return nil
}

// badLabel returns the position of the first label above 9, or -1.
func badLabel(labels []uint8) int {
	for i, l := range labels {
		if int(l) >= len(ClassNames) {
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
	var err error
	for i := len(ir.closer) - 1; i >= 0; i-- {
		if cerr := ir.closer[i].Close(); err == nil {
			err = cerr
		}
	}
	ir.closer = nil
	return err
}
