package safetensors

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.safetensors")
	in := []Tensor{F32("conv1.weight", []int{2, 1, 1, 2}, []float32{1, -2, 3.5, 4}), I64("bn1.num_batches_tracked", 7)}
	if err := Save(path, in, map[string]string{"epoch": "3"}); err != nil {
		t.Fatal(err)
	}
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	w := make([]float32, 4)
	if err := f.Tensors["conv1.weight"].Float32s(w); err != nil || w[2] != 3.5 {
		t.Fatalf("weight %v, err %v", w, err)
	}
	if n, err := f.Tensors["bn1.num_batches_tracked"].Int64(); err != nil || n != 7 {
		t.Fatalf("counter %d, err %v", n, err)
	}
	if f.Metadata["epoch"] != "3" {
		t.Fatalf("metadata %v", f.Metadata)
	}
	// The header is padded so the data starts 8-byte aligned.
	raw, _ := os.ReadFile(path)
	if hl := binary.LittleEndian.Uint64(raw); hl%8 != 0 {
		t.Fatalf("header length %d not a multiple of 8", hl)
	}
}

func TestReadRejectsBadFiles(t *testing.T) {
	var good bytes.Buffer
	if err := Write(&good, []Tensor{F32("w", []int{2}, []float32{1, 2})}, nil); err != nil {
		t.Fatal(err)
	}
	header := func(js string) []byte {
		b := binary.LittleEndian.AppendUint64(nil, uint64(len(js)))
		return append(b, js...)
	}
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "header length"},
		{"truncated data", good.Bytes()[:good.Len()-2], "truncated"},
		{"huge header", binary.LittleEndian.AppendUint64(nil, 1<<40), "implausible"},
		{"not json", header("{nope"), "not JSON"},
		{"bad dtype", header(`{"w":{"dtype":"Q8","shape":[1],"data_offsets":[0,1]}}`), "unsupported dtype"},
		{"size mismatch", append(header(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}`), 0, 0, 0, 0), "want 8"},
		{"trailing bytes", append(header(`{"w":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`), 0, 0, 0, 0, 9), "past the last"},
	} {
		_, err := Read(bytes.NewReader(c.data))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

func TestFloat32sChecksSize(t *testing.T) {
	if err := F32("w", []int{3}, []float32{1, 2, 3}).Float32s(make([]float32, 2)); err == nil {
		t.Fatal("no error decoding 3 values into 2")
	}
}
