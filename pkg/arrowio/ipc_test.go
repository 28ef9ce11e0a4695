package arrowio

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
)

func TestRecordWriterAsGiven(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewIPCWriter(&buf, "s", ImageSchema(nil), WriteOptions{AsGiven: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{3, 2000, 1} {
		b, before := makeBatch(n, 0), buf.Len()
		if err := w.Write(n, arrow.Int32Traits.CastToBytes(b.Index), b.Label, b.Pixels); err != nil {
			t.Fatal(err)
		}
		// Flushed at once, for the reader at the other end of a pipe.
		if got := buf.Len() - before; got < n*ImageSize {
			t.Fatalf("a batch of %d rows: %d bytes flushed", n, got)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := NewImageReader(&buf, "s")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, sizes := readAll(t, r); !slices.Equal(sizes, []int{3, 2000, 1}) {
		t.Errorf("batch sizes %v, want those written", sizes)
	}
}

func TestRecordWriterErrors(t *testing.T) {
	// Strings are written (NUL-terminated in Write); other variable-width types are not.
	bin := arrow.NewSchema([]arrow.Field{{Name: "blob", Type: arrow.BinaryTypes.Binary}}, nil)
	if _, err := NewIPCWriter(&bytes.Buffer{}, "s", bin, WriteOptions{}); err == nil || !strings.HasPrefix(err.Error(), `s: column "blob": binary is not a fixed-width type`) {
		t.Errorf("binary column: err = %v", err)
	}
	str := arrow.NewSchema([]arrow.Field{{Name: "name", Type: arrow.BinaryTypes.String}}, nil)
	sw, err := NewIPCWriter(&bytes.Buffer{}, "s", str, WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.Write(2, []byte("a\x00b")); err == nil || err.Error() != `s: column "name": 1 NUL-terminated strings, want 2` {
		t.Errorf("unterminated string: err = %v", err)
	}
	w, err := NewIPCWriter(&bytes.Buffer{}, "s", ImageSchema(nil), WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b := makeBatch(2, 0)
	err = w.Write(2, arrow.Int32Traits.CastToBytes(b.Index), b.Label, b.Pixels[:ImageSize])
	if want := `s: column "image": 3072 bytes for 2 rows, want 6144`; err == nil || err.Error() != want {
		t.Errorf("short column: err = %v, want %q", err, want)
	}
	if err := w.Write(0, nil, nil, nil); err == nil || err.Error() != "s: write after Close or Abort" {
		t.Errorf("Write after a failed Write: err = %v", err)
	}
}
