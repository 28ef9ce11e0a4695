package arrowio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// The Arrow IPC decoder trusts the lengths in its flatbuffers: a vector
// that claims 2^31 fields, a body or buffer that claims more bytes than the
// input holds, make it allocate that much before finding out (and a
// runtime out-of-memory is no panic to recover). So before it sees them,
// the stream's messages and the file's footer and record batches are
// checked here: every vector, table and string the decoder reads lies
// inside its buffer, and every body and buffer inside the input.

// fb is one flatbuffer.
type fb []byte

var errFlatbuffer = errors.New("corrupt flatbuffer")

func (b fb) u32(p int) (int, error) {
	if p < 0 || p+4 > len(b) {
		return 0, errFlatbuffer
	}
	return int(binary.LittleEndian.Uint32(b[p:])), nil
}

// ref follows the offset stored at p to what it points to.
func (b fb) ref(p int) (int, error) {
	off, err := b.u32(p)
	if err != nil || p+off >= len(b) {
		return 0, errFlatbuffer
	}
	return p + off, nil
}

// table checks the table at t and its vtable.
func (b fb) table(t int) error {
	so, err := b.u32(t)
	if err != nil {
		return err
	}
	vt := t - int(int32(so))
	if vt < 0 || vt+4 > len(b) {
		return errFlatbuffer
	}
	if size := int(binary.LittleEndian.Uint16(b[vt:])); size < 4 || vt+size > len(b) {
		return errFlatbuffer
	}
	return nil
}

// field is the position of slot's value in table t, or 0 when absent.
func (b fb) field(t, slot int) int {
	so, _ := b.u32(t)
	vt := t - int(int32(so))
	size := int(binary.LittleEndian.Uint16(b[vt:]))
	if 4+2*slot+2 > size {
		return 0
	}
	off := int(binary.LittleEndian.Uint16(b[vt+4+2*slot:]))
	if off == 0 {
		return 0
	}
	return t + off
}

// vector checks the vector that slot of table t points to, of elements of
// elem bytes, and returns its start and length (0, 0 when absent).
func (b fb) vector(t, slot, elem int) (start, n int, err error) {
	p := b.field(t, slot)
	if p == 0 {
		return 0, 0, nil
	}
	v, err := b.ref(p)
	if err != nil {
		return 0, 0, err
	}
	if n, err = b.u32(v); err != nil || n > (len(b)-v-4)/elem {
		return 0, 0, errFlatbuffer
	}
	return v + 4, n, nil
}

// subtable checks the table that slot of table t points to: its position,
// or 0 when absent.
func (b fb) subtable(t, slot int) (int, error) {
	p := b.field(t, slot)
	if p == 0 {
		return 0, nil
	}
	s, err := b.ref(p)
	if err != nil {
		return 0, err
	}
	return s, b.table(s)
}

// tables checks a vector of tables, calling each on every one.
func (b fb) tables(t, slot int, each func(int) error) error {
	start, n, err := b.vector(t, slot, 4)
	if err != nil {
		return err
	}
	for i := range n {
		s, err := b.ref(start + 4*i)
		if err == nil {
			err = b.table(s)
		}
		if err == nil && each != nil {
			err = each(s)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (b fb) keyValues(t, slot int) error {
	return b.tables(t, slot, func(kv int) error {
		for s := range 2 {
			if _, _, err := b.vector(kv, s, 1); err != nil {
				return err
			}
		}
		return nil
	})
}

// Slots of the Arrow flatbuffers (format/Schema.fbs, Message.fbs, File.fbs).
const (
	schemaFields, schemaMetadata, schemaFeatures = 1, 2, 3
	fieldName, fieldTypeType, fieldType          = 0, 2, 3
	fieldDictionary, typeUnion                   = 4, 14
	fieldChildren, fieldMetadata                 = 5, 6
	msgHeaderType, msgHeader, msgBodyLength      = 1, 2, 3
	msgMetadata                                  = 4
	batchLength, batchNodes, batchBuffers        = 0, 1, 2
	batchCompression, batchVariadic              = 3, 4
	dictData                                     = 1
	footerSchema, footerDicts, footerBatches     = 1, 2, 3
	footerMetadata                               = 4
	headerSchema, headerDict, headerBatch        = 1, 2, 3
	maxNesting                                   = 64
)

func (b fb) schema(s int) error {
	if err := b.keyValues(s, schemaMetadata); err != nil {
		return err
	}
	if _, _, err := b.vector(s, schemaFeatures, 8); err != nil {
		return err
	}
	return b.fields(s, schemaFields, 0)
}

func (b fb) fields(t, slot, depth int) error {
	if depth > maxNesting {
		return errFlatbuffer
	}
	return b.tables(t, slot, func(f int) error {
		if _, _, err := b.vector(f, fieldName, 1); err != nil {
			return err
		}
		if typ, err := b.subtable(f, fieldType); err != nil {
			return err
		} else if p := b.field(f, fieldTypeType); typ != 0 && p != 0 && p < len(b) && b[p] == typeUnion {
			// Union's type ids, the one vector of a type table.
			if _, _, err := b.vector(typ, 1, 4); err != nil {
				return err
			}
		}
		if d, err := b.subtable(f, fieldDictionary); err != nil {
			return err
		} else if d != 0 {
			if _, err := b.subtable(d, 1); err != nil { // its index type
				return err
			}
		}
		if err := b.keyValues(f, fieldMetadata); err != nil {
			return err
		}
		return b.fields(f, fieldChildren, depth+1)
	})
}

// batch checks a RecordBatch table whose body holds body bytes.
func (b fb) batch(t int, body int64) error {
	if _, _, err := b.vector(t, batchNodes, 16); err != nil {
		return err
	}
	start, n, err := b.vector(t, batchBuffers, 16)
	if err != nil {
		return err
	}
	for i := range n {
		off := int64(binary.LittleEndian.Uint64(b[start+16*i:]))
		length := int64(binary.LittleEndian.Uint64(b[start+16*i+8:]))
		if off < 0 || length < 0 || off > body || length > body-off {
			return fmt.Errorf("buffer %d at [%d, +%d) outside the message body of %d bytes", i, off, length, body)
		}
	}
	if _, err := b.subtable(t, batchCompression); err != nil {
		return err
	}
	_, _, err = b.vector(t, batchVariadic, 8)
	return err
}

// message checks an IPC message's metadata and returns its body length.
func (b fb) message() (int64, error) {
	m, err := b.ref(0)
	if err != nil {
		return 0, err
	}
	if err := b.table(m); err != nil {
		return 0, err
	}
	var body int64
	if p := b.field(m, msgBodyLength); p != 0 {
		if p+8 > len(b) {
			return 0, errFlatbuffer
		}
		if body = int64(binary.LittleEndian.Uint64(b[p:])); body < 0 {
			return 0, fmt.Errorf("message body of %d bytes", body)
		}
	}
	if err := b.keyValues(m, msgMetadata); err != nil {
		return 0, err
	}
	var kind byte
	if p := b.field(m, msgHeaderType); p != 0 {
		if p >= len(b) {
			return 0, errFlatbuffer
		}
		kind = b[p]
	}
	h, err := b.subtable(m, msgHeader)
	if err != nil || h == 0 {
		return body, err
	}
	switch kind {
	case headerSchema:
		err = b.schema(h)
	case headerBatch:
		err = b.batch(h, body)
	case headerDict:
		var d int
		if d, err = b.subtable(h, dictData); err == nil && d != 0 {
			err = b.batch(d, body)
		}
	}
	return body, err
}

// checkedStream hands an IPC stream to the decoder a message at a time,
// each read whole and checked first: a length that claims more than the
// input holds is a truncated stream, found by reading only what is there.
// hit records an end of input where a message should have begun (a stream
// without its end-of-stream marker).
type checkedStream struct {
	r   io.Reader
	buf bytes.Reader
	n   int // messages read
	hit bool
	err error
	eos bool
}

func (s *checkedStream) Read(p []byte) (int, error) {
	for s.buf.Len() == 0 {
		if s.err != nil {
			return 0, s.err
		}
		if s.eos {
			return 0, io.EOF
		}
		s.err = s.next()
	}
	return s.buf.Read(p)
}

// next reads one whole message into buf.
func (s *checkedStream) next() error {
	var head [8]byte
	n, err := io.ReadFull(s.r, head[:4])
	switch {
	case n == 0 && err == io.EOF:
		s.hit = true
		return io.EOF
	case err != nil:
		return fmt.Errorf("message %d: %w", s.n, io.ErrUnexpectedEOF)
	}
	if binary.LittleEndian.Uint32(head[:4]) == 0 { // old end-of-stream marker
		s.eos = true
		s.buf.Reset(head[:4])
		return nil
	}
	if binary.LittleEndian.Uint32(head[:4]) != 0xFFFFFFFF {
		return fmt.Errorf("message %d: no continuation marker: not an Arrow IPC stream", s.n)
	}
	if _, err := io.ReadFull(s.r, head[4:]); err != nil {
		return fmt.Errorf("message %d: %w", s.n, io.ErrUnexpectedEOF)
	}
	size := int64(binary.LittleEndian.Uint32(head[4:]))
	if size == 0 {
		s.eos = true
		s.buf.Reset(head[:])
		return nil
	}
	if size > 1<<30 {
		return fmt.Errorf("message %d: metadata of %d bytes", s.n, size)
	}
	var msg bytes.Buffer
	msg.Write(head[:])
	if k, _ := io.CopyN(&msg, s.r, size); k != size {
		return fmt.Errorf("message %d: metadata cut after %d of %d bytes: %w", s.n, k, size, io.ErrUnexpectedEOF)
	}
	body, err := fb(msg.Bytes()[8:]).message()
	if err != nil {
		return fmt.Errorf("message %d: %w", s.n, err)
	}
	if k, _ := io.CopyN(&msg, s.r, body); k != body {
		return fmt.Errorf("message %d: body cut after %d of %d bytes: %w", s.n, k, body, io.ErrUnexpectedEOF)
	}
	s.n++
	s.buf.Reset(msg.Bytes())
	return nil
}

// checkFile checks an IPC file's footer (its schema and the blocks that
// locate the batches) and every batch's metadata against the file's size,
// and returns the rows of its batches, which that metadata gives (-1 when
// the file is too broken to say: the decoder then says what is wrong).
func checkFile(r io.ReaderAt, size int64) (int64, error) {
	const tail = 10 // footer length and "ARROW1"
	if size < 2*int64(len(fileMagic))+tail {
		return -1, nil
	}
	var t [tail]byte
	if _, err := r.ReadAt(t[:], size-tail); err != nil {
		return -1, err
	}
	n := int64(binary.LittleEndian.Uint32(t[:4]))
	if n <= 0 || n > size-tail-int64(len(fileMagic)) {
		return -1, nil
	}
	footer := make(fb, n)
	if _, err := r.ReadAt(footer, size-tail-n); err != nil {
		return -1, err
	}
	f, err := footer.ref(0)
	if err == nil {
		err = footer.table(f)
	}
	if err != nil {
		return -1, fmt.Errorf("footer: %w", err)
	}
	s, err := footer.subtable(f, footerSchema)
	if err == nil && s != 0 {
		err = footer.schema(s)
	}
	if err == nil {
		err = footer.keyValues(f, footerMetadata)
	}
	if err != nil {
		return -1, fmt.Errorf("footer: %w", err)
	}
	var rows int64
	for _, slot := range []int{footerDicts, footerBatches} {
		start, k, err := footer.vector(f, slot, 24)
		if err != nil {
			return -1, fmt.Errorf("footer: %w", err)
		}
		for i := range k {
			blk := footer[start+24*i:]
			off := int64(binary.LittleEndian.Uint64(blk))
			meta := int64(int32(binary.LittleEndian.Uint32(blk[8:])))
			body := int64(binary.LittleEndian.Uint64(blk[16:]))
			if off < 0 || meta < 8 || body < 0 || off > size || meta > size-off || body > size-off-meta {
				return -1, fmt.Errorf("footer: block %d at %d (%d + %d bytes) outside the file of %d bytes", i, off, meta, body, size)
			}
			msg := make(fb, meta)
			if _, err := r.ReadAt(msg, off); err != nil {
				return -1, err
			}
			if binary.LittleEndian.Uint32(msg) == 0xFFFFFFFF {
				msg = msg[8:]
			} else {
				msg = msg[4:]
			}
			claimed, err := msg.message()
			if err == nil && claimed > body {
				err = fmt.Errorf("body of %d bytes, its block holds %d", claimed, body)
			}
			if err == nil && slot == footerBatches {
				var k int64
				k, err = msg.batchRows()
				rows += k
			}
			if err != nil {
				return -1, fmt.Errorf("block %d: %w", i, err)
			}
		}
	}
	return rows, nil
}

// batchRows returns the length of the record batch that a message checked
// by message holds: its row count (0 for a message of another kind).
func (b fb) batchRows() (int64, error) {
	m, _ := b.ref(0)
	if p := b.field(m, msgHeaderType); p == 0 || b[p] != headerBatch {
		return 0, nil
	}
	h, _ := b.subtable(m, msgHeader)
	if h == 0 {
		return 0, nil
	}
	p := b.field(h, batchLength)
	if p == 0 {
		return 0, nil // the default, an empty batch
	}
	if p+8 > len(b) {
		return 0, errFlatbuffer
	}
	n := int64(binary.LittleEndian.Uint64(b[p:]))
	if n < 0 || n > math.MaxInt32 {
		return 0, fmt.Errorf("record batch of %d rows", n)
	}
	return n, nil
}
