package features

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

// source yields the record batches of an Arrow IPC file or stream, whichever
// its input holds. (pkg/arrowio has the same detection inside its image
// reader but does not export it.)
type source struct {
	rs interface {
		Schema() *arrow.Schema
		Read() (arrow.Record, error)
	}
	eof    *eofWatch // stream input only
	closer []io.Closer
}

var (
	fileMagic   = []byte("ARROW1")
	streamMagic = []byte{0xff, 0xff, 0xff, 0xff} // continuation marker, Arrow ≥ 0.15
)

// maxSchemaMessage bounds the first message of a stream: a schema is a few
// KiB, so anything larger is not one.
const maxSchemaMessage = 1 << 24

// openSource detects the format of r: the IPC file format starts with
// "ARROW1", the stream format with a continuation marker.
func openSource(r io.Reader) (*source, error) {
	if ra, ok := seekable(r); ok {
		magic := make([]byte, len(fileMagic))
		if _, err := ra.ReadAt(magic, 0); err == nil && bytes.Equal(magic, fileMagic) {
			return openFile(ra)
		}
	}
	br := bufio.NewReaderSize(r, 1<<16)
	magic, err := br.Peek(len(fileMagic))
	switch {
	case len(magic) == 0 && err == io.EOF:
		return nil, errors.New("empty input, want an Arrow IPC file or stream")
	case len(magic) == 0:
		return nil, err
	case bytes.Equal(magic, fileMagic):
		// A file through a pipe: its footer, which locates the batches, comes
		// last, so take it all in.
		data, err := io.ReadAll(br)
		if err != nil {
			return nil, err
		}
		return openFile(bytes.NewReader(data))
	}
	// Check the first message's framing before the IPC reader trusts its
	// length: the first bytes of, say, a CSV file would make it allocate
	// gigabytes.
	head, _ := br.Peek(8)
	if len(head) < 8 || !bytes.HasPrefix(head, streamMagic) {
		return nil, errors.New("not an Arrow IPC file or stream")
	}
	if n := binary.LittleEndian.Uint32(head[4:]); n == 0 || n > maxSchemaMessage {
		return nil, fmt.Errorf("not an Arrow IPC file or stream: schema message of %d bytes", n)
	}
	eof := &eofWatch{r: br}
	sr, err := ipc.NewReader(eof)
	if err != nil {
		return nil, fmt.Errorf("not an Arrow IPC file or stream: %w", err)
	}
	return &source{rs: sr, eof: eof, closer: []io.Closer{releaser{sr}}}, nil
}

func openFile(r ipc.ReadAtSeeker) (*source, error) {
	fr, err := ipc.NewFileReader(r)
	if err != nil {
		return nil, fmt.Errorf("not a valid Arrow IPC file: %w", err)
	}
	return &source{rs: fr, closer: []io.Closer{fr}}, nil
}

// seekable reports whether r supports the random access the file format
// needs: a regular file or an in-memory reader, not a pipe.
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

// read returns the next record, io.EOF at a proper end of the table, and an
// error for a stream that stops without its end-of-stream marker (a cut
// pipe, a killed producer) or a corrupt batch.
func (s *source) read() (rec arrow.Record, err error) {
	defer func() {
		if p := recover(); p != nil { // the IPC decoder panics on some corrupt input
			err = fmt.Errorf("corrupt record batch: %v", p)
		}
	}()
	rec, err = s.rs.Read()
	if err == io.EOF && s.eof != nil && s.eof.hit {
		return nil, errors.New("truncated: stream ends without an end-of-stream marker")
	}
	return rec, err
}

func (s *source) close() error {
	var err error
	for i := len(s.closer) - 1; i >= 0; i-- {
		if cerr := s.closer[i].Close(); err == nil {
			err = cerr
		}
	}
	s.closer = nil
	return err
}

// eofWatch notes whether its reader was asked for bytes past the end. The IPC
// stream reader stops at the end-of-stream marker without reading further,
// and reports a stream cut at a message boundary as a clean end, so reaching
// the end of the input means the marker was missing.
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
