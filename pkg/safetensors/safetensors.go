// Package safetensors reads and writes the safetensors format
// (huggingface/safetensors): an 8-byte little-endian header length, a JSON
// header mapping each tensor name to its dtype, shape and byte range, an
// optional "__metadata__" string map, then the raw little-endian data.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"slices"

	"github.com/simclr-go/simclr/pkg/atomicfile"
)

// Tensor is one named array. Data holds its raw little-endian bytes.
type Tensor struct {
	Name  string
	DType string // "F32" or "I64"
	Shape []int
	Data  []byte
}

// File is the content of a safetensors file.
type File struct {
	Tensors  map[string]Tensor
	Metadata map[string]string
}

// F32 makes a float32 tensor from values.
func F32(name string, shape []int, values []float32) Tensor {
	b := make([]byte, 4*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return Tensor{Name: name, DType: "F32", Shape: shape, Data: b}
}

// I64 makes a 0-d int64 tensor (PyTorch's num_batches_tracked).
func I64(name string, v int64) Tensor {
	b := make([]byte, 8)
	binary.LittleEndian.PutUint64(b, uint64(v))
	return Tensor{Name: name, DType: "I64", Shape: []int{}, Data: b}
}

var dtypeSize = map[string]int{"F32": 4, "I64": 8, "F64": 8, "I32": 4, "F16": 2, "BF16": 2, "U8": 1}

// Float32s decodes an F32 tensor into dst, which must have the right size.
func (t Tensor) Float32s(dst []float32) error {
	if t.DType != "F32" {
		return fmt.Errorf("tensor %s: dtype %s, want F32", t.Name, t.DType)
	}
	if len(t.Data) != 4*len(dst) {
		return fmt.Errorf("tensor %s: %d values, want %d", t.Name, len(t.Data)/4, len(dst))
	}
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return nil
}

// Int64 decodes a one-element I64 tensor.
func (t Tensor) Int64() (int64, error) {
	if t.DType != "I64" || len(t.Data) != 8 {
		return 0, fmt.Errorf("tensor %s: %s of %d bytes, want one I64", t.Name, t.DType, len(t.Data))
	}
	return int64(binary.LittleEndian.Uint64(t.Data)), nil
}

type entry struct {
	DType   string `json:"dtype"`
	Shape   []int  `json:"shape"`
	Offsets [2]int `json:"data_offsets"`
}

// Write encodes tensors (in the given order) and metadata to w.
func Write(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	header := make(map[string]any, len(tensors)+1)
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	off := 0
	for _, t := range tensors {
		if _, dup := header[t.Name]; dup {
			return fmt.Errorf("safetensors: tensor %q written twice", t.Name)
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		header[t.Name] = entry{t.DType, shape, [2]int{off, off + len(t.Data)}}
		off += len(t.Data)
	}
	js, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("safetensors: header: %w", err)
	}
	// Pad the header with spaces so the data starts 8-byte aligned.
	js = append(js, bytes.Repeat([]byte{' '}, (8-len(js)%8)%8)...)
	var size [8]byte
	binary.LittleEndian.PutUint64(size[:], uint64(len(js)))
	if _, err := w.Write(size[:]); err != nil {
		return err
	}
	if _, err := w.Write(js); err != nil {
		return err
	}
	for _, t := range tensors {
		if _, err := w.Write(t.Data); err != nil {
			return err
		}
	}
	return nil
}

// Save writes a safetensors file atomically: the old file stays whole until
// the new one is complete.
func Save(path string, tensors []Tensor, metadata map[string]string) error {
	return save(path, tensors, metadata, nil)
}

// save is Save, writing through wrap(file) when wrap is set: tests make
// the disk fill up.
func save(path string, tensors []Tensor, metadata map[string]string, wrap func(io.Writer) io.Writer) error {
	f, err := atomicfile.Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	var w io.Writer = f
	if wrap != nil {
		w = wrap(f)
	}
	if err := Write(w, tensors, metadata); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Commit()
}

// maxHeader bounds the JSON header, as the reference implementation does.
const maxHeader = 100 << 20

// Read decodes a whole safetensors file, checking that every tensor's byte
// range matches its dtype and shape and that the ranges tile the data.
func Read(r io.Reader) (*File, error) {
	var size [8]byte
	if _, err := io.ReadFull(r, size[:]); err != nil {
		return nil, fmt.Errorf("header length: %w", err)
	}
	n := binary.LittleEndian.Uint64(size[:])
	if n > maxHeader {
		return nil, fmt.Errorf("header length %d is implausible: not a safetensors file?", n)
	}
	// Read what is there rather than allocate what the length claims: 8
	// bytes of garbage must not cost 100 MB.
	js, err := io.ReadAll(io.LimitReader(r, int64(n)))
	if err != nil {
		return nil, fmt.Errorf("header: %w", err)
	}
	if uint64(len(js)) != n {
		return nil, fmt.Errorf("header: %w (%d of its %d bytes)", io.ErrUnexpectedEOF, len(js), n)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(js, &raw); err != nil {
		return nil, fmt.Errorf("header is not JSON: %w", err)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	f := &File{Tensors: make(map[string]Tensor, len(raw))}
	type span struct{ lo, hi int }
	var spans []span
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &f.Metadata); err != nil {
				return nil, fmt.Errorf("__metadata__: %w", err)
			}
			continue
		}
		var e entry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, fmt.Errorf("tensor %s: %w", name, err)
		}
		es, ok := dtypeSize[e.DType]
		if !ok {
			return nil, fmt.Errorf("tensor %s: unsupported dtype %q", name, e.DType)
		}
		count := 1
		for _, d := range e.Shape {
			if d < 0 {
				return nil, fmt.Errorf("tensor %s: negative dimension in shape %v", name, e.Shape)
			}
		}
		for _, d := range e.Shape {
			if d == 0 {
				count = 0
				break
			}
			if count > len(data)/d { // more than the data holds; and no overflow
				count = len(data) + 1
				break
			}
			count *= d
		}
		lo, hi := e.Offsets[0], e.Offsets[1]
		if lo < 0 || hi < lo || hi > len(data) {
			return nil, fmt.Errorf("tensor %s: byte range [%d,%d) outside the %d data bytes (truncated file?)", name, lo, hi, len(data))
		}
		if hi-lo != count*es {
			return nil, fmt.Errorf("tensor %s: %d bytes for %s%v, want %d", name, hi-lo, e.DType, e.Shape, count*es)
		}
		f.Tensors[name] = Tensor{Name: name, DType: e.DType, Shape: e.Shape, Data: data[lo:hi]}
		spans = append(spans, span{lo, hi})
	}
	slices.SortFunc(spans, func(a, b span) int { return a.lo - b.lo })
	end := 0
	for _, s := range spans {
		if s.lo != end {
			return nil, fmt.Errorf("tensor byte ranges overlap or leave a gap at byte %d", end)
		}
		end = s.hi
	}
	if end != len(data) {
		return nil, fmt.Errorf("%d bytes of data past the last tensor", len(data)-end)
	}
	return f, nil
}

// Load reads the safetensors file at path; errors name the file.
func Load(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	f, err := Read(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}
