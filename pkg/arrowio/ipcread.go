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
	"github.com/apache/arrow/go/v17/arrow/ipc"
)

// RecordReader reads the record batches of an Arrow IPC file or stream,
// whatever the schema; the image and feature readers check theirs on top.
// Its errors name the input.
type RecordReader struct {
	name string
	src  interface {
		Schema() *arrow.Schema
		Read() (arrow.Record, error)
	}
	eof    *checkedStream // stream input only: did the stream end without its end-of-stream marker?
	closer io.Closer
	rows   int // rows read so far, to locate errors
	total  int // rows of an IPC file, from its batches' metadata; -1 when not known before reading
}

// OpenIPC reads an Arrow IPC table from r, which must be at its start; name
// identifies it in errors. The format is detected: Arrow IPC file (magic
// "ARROW1") or IPC stream. A stream must end with the end-of-stream marker,
// so that a cut pipe is an error and not a short table.
func OpenIPC(r io.Reader, name string) (*RecordReader, error) {
	rr, err := openIPC(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	rr.name = name
	return rr, nil
}

var fileMagic = []byte("ARROW1")

// maxSchemaMessage bounds the first message of a stream: a schema is a few
// KiB, so anything larger is not one.
const maxSchemaMessage = 1 << 24

func openIPC(r io.Reader) (*RecordReader, error) {
	if ra, ok := seekable(r); ok {
		magic := make([]byte, len(fileMagic))
		if _, err := ra.ReadAt(magic, 0); err == nil && bytes.Equal(magic, fileMagic) {
			return openFile(ra)
		}
	}
	br := bufio.NewReaderSize(r, 1<<16)
	magic, err := br.Peek(len(fileMagic))
	switch {
	case len(magic) == 0 && err != nil:
		if err == io.EOF {
			return nil, errors.New("empty input, want an Arrow IPC file or stream")
		}
		return nil, err
	case bytes.Equal(magic, fileMagic):
		// An IPC file arriving through a pipe: its footer, which locates the
		// batches, comes last, so take it all in.
		data, err := io.ReadAll(br)
		if err != nil {
			return nil, err
		}
		return openFile(bytes.NewReader(data))
	}
	// Check the first message's framing before the IPC reader trusts its
	// length: arbitrary bytes would make it allocate up to 2 GiB, or panic.
	head, _ := br.Peek(8)
	if len(head) < 8 || binary.LittleEndian.Uint32(head) != 0xFFFFFFFF {
		return nil, errors.New("not an Arrow IPC file or stream")
	}
	if n := binary.LittleEndian.Uint32(head[4:]); n == 0 || n > maxSchemaMessage {
		return nil, fmt.Errorf("not an Arrow IPC file or stream: schema message of %d bytes", n)
	}
	eof := &checkedStream{r: br}
	sr, err := guard(func() (*ipc.Reader, error) { return ipc.NewReader(eof) })
	if err != nil {
		return nil, fmt.Errorf("not an Arrow IPC file or stream: %w", err)
	}
	return &RecordReader{src: sr, eof: eof, closer: releaser{sr}, total: -1}, nil
}

func openFile(r ipc.ReadAtSeeker) (*RecordReader, error) {
	size, err := r.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, err
	}
	rows, err := checkFile(r, size)
	if err != nil {
		return nil, fmt.Errorf("not a valid Arrow IPC file: %w", err)
	}
	fr, err := guard(func() (*ipc.FileReader, error) { return ipc.NewFileReader(r) })
	if err != nil {
		return nil, fmt.Errorf("not a valid Arrow IPC file: %w", err)
	}
	return &RecordReader{src: fr, closer: fr, total: int(rows)}, nil
}

// guard runs open, turning a panic of the IPC decoder on a corrupt schema
// or footer (a flatbuffer offset out of range) into an error.
func guard[T any](open func() (T, error)) (v T, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("corrupt schema or footer: %v", p)
		}
	}()
	return open()
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

type releaser struct{ r *ipc.Reader }

func (r releaser) Close() error { r.r.Release(); return nil }

// Schema returns the table's schema.
func (r *RecordReader) Schema() *arrow.Schema { return r.src.Schema() }

// NumRows returns the table's row count if it is known before reading: for
// an IPC file, from its footer and batch headers; not for a stream, which
// says only at its end.
func (r *RecordReader) NumRows() (int, bool) { return r.total, r.total >= 0 }

// Read returns the next record batch, valid until the next call, or io.EOF
// at the end of the table. A stream that stops without its end-of-stream
// marker (a cut pipe, a killed producer) is an error, as is a corrupt batch.
func (r *RecordReader) Read() (arrow.Record, error) {
	rec, err := r.read()
	switch {
	case err == io.EOF && r.eof != nil && r.eof.hit:
		err = errors.New("truncated: stream ends without an end-of-stream marker")
	case err == io.EOF:
		return nil, err
	case err != nil && r.eof != nil && r.eof.err != nil && r.eof.err != io.EOF:
		err = r.eof.err // the framing's own message, not the decoder's wrapping of it
	case err == nil:
		r.rows += int(rec.NumRows())
		return rec, nil
	}
	return nil, fmt.Errorf("%s: after %d rows: %w", r.name, r.rows, err)
}

// read returns the next record, turning a panic of the IPC decoder on
// corrupt input into an error.
func (r *RecordReader) read() (rec arrow.Record, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("corrupt record batch: %v", p)
		}
	}()
	return r.src.Read()
}

// Close releases the reader. It does not close the io.Reader given to OpenIPC.
func (r *RecordReader) Close() error {
	if r.closer == nil {
		return nil
	}
	err := r.closer.Close()
	r.closer = nil
	return err
}
