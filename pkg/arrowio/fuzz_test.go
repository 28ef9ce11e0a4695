package arrowio

import (
	"bytes"
	"io"
	"testing"
)

// FuzzImageReader reads arbitrary bytes as an image table, as an IPC file
// (random access) and as a stream (a pipe): an error or batches that hold
// what the schema says, never a panic or a hang. The seeds are small real
// tables, files and streams, whole and cut.
func FuzzImageReader(f *testing.F) {
	for _, file := range []bool{true, false} {
		for _, extra := range [][]string{nil, {"view", "epoch"}} {
			b := writeTable(f, file, 2, 1, extra...)
			f.Add(b)
			f.Add(b[:len(b)/2])
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		readImages(t, bytes.NewReader(data))
		readImages(t, struct{ io.Reader }{bytes.NewReader(data)}) // not seekable
	})
}

func readImages(t *testing.T, in io.Reader) {
	r, err := NewImageReader(in, "fuzz")
	if err != nil {
		return
	}
	defer r.Close()
	for batches := 0; r.Next(); batches++ {
		b := r.Batch()
		if len(b.Index) != b.Len() || len(b.Pixels) != b.Len()*ImageSize {
			t.Fatalf("batch of %d labels has %d indices and %d pixel bytes", b.Len(), len(b.Index), len(b.Pixels))
		}
		if i := r.cols.badLabel(b.Label); i >= 0 {
			t.Fatalf("label %d passed", b.Label[i])
		}
		for _, name := range r.Extra() {
			if len(b.Extra[name]) != b.Len() {
				t.Fatalf("column %s: %d values for %d rows", name, len(b.Extra[name]), b.Len())
			}
		}
	}
}
