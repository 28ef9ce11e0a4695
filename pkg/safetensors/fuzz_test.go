package safetensors

import (
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// FuzzRead decodes arbitrary bytes as a safetensors file: it must return an
// error or a file whose tensors decode and write back, never panic or hang.
// The seeds are small real files, whole and cut.
func FuzzRead(f *testing.F) {
	for _, meta := range []map[string]string{nil, {"format": "simclr-go/checkpoint/v1", "config": `{"epochs":1}`}} {
		var buf bytes.Buffer
		tensors := []Tensor{F32("w", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}), I64("n", 7), F32("s", []int{}, []float32{0.5})}
		if err := Write(&buf, tensors, meta); err != nil {
			f.Fatal(err)
		}
		b := buf.Bytes()
		f.Add(b)
		f.Add(b[:len(b)-3])
		f.Add(b[:12])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Read(bytes.NewReader(data))
		if err != nil {
			return
		}
		var tensors []Tensor
		for _, tn := range file.Tensors {
			switch tn.DType {
			case "F32":
				if err := tn.Float32s(make([]float32, len(tn.Data)/4)); err != nil {
					t.Errorf("tensor %s: %v", tn.Name, err)
				}
			case "I64":
				tn.Int64() // a non-scalar is an error, not a panic
			}
			tensors = append(tensors, tn)
		}
		var buf bytes.Buffer
		if err := Write(&buf, tensors, file.Metadata); err != nil {
			t.Fatalf("write back what was read: %v", err)
		}
		again, err := Read(&buf)
		if err != nil {
			t.Fatalf("read back what was written: %v", err)
		}
		if len(again.Tensors) != len(file.Tensors) {
			t.Fatalf("%d tensors read back, want %d", len(again.Tensors), len(file.Tensors))
		}
	})
}

// Found by reading Read against FuzzRead: a shape whose element count
// overflows int was taken at its wrapped value (here 0, matching an empty
// byte range), and an 8-byte length allocated the 100 MB it claimed before
// finding the file short. Their inputs are in testdata/fuzz/FuzzRead.
func TestReadHostileHeaders(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"shape overflow", header(`{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}`), "tensor w: 0 bytes for F32[4611686018427387904 4]"},
		{"length beyond the file", append([]byte{0, 0, 0x40, 6, 0, 0, 0, 0}, "{}"...), "header: unexpected EOF (2 of its 104857600 bytes)"},
	} {
		_, err := Read(bytes.NewReader(tc.data))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

func header(js string) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(js)))
	return append(b, js...)
}

// fullDisk accepts n bytes, then fails as a full disk does.
type fullDisk struct {
	w io.Writer
	n int
}

func (d *fullDisk) Write(p []byte) (int, error) {
	if len(p) > d.n {
		k, _ := d.w.Write(p[:d.n])
		d.n = 0
		return k, syscall.ENOSPC
	}
	d.n -= len(p)
	return d.w.Write(p)
}

// A save that runs out of disk, wherever it does, fails naming the file
// and the cause, keeps the file it would have replaced, and leaves no
// partial file.
func TestSaveDiskFull(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ck.safetensors")
	old := []Tensor{F32("w", []int{2}, []float32{1, 2})}
	if err := Save(path, old, nil); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	big := []Tensor{F32("w", []int{1000}, make([]float32, 1000)), I64("n", 3)}
	for _, n := range []int{0, 7, 8, 100, 2000, 4000} {
		err := save(path, big, map[string]string{"k": "v"}, func(w io.Writer) io.Writer { return &fullDisk{w, n} })
		if want := "write " + path + ": no space left on device"; err == nil || err.Error() != want {
			t.Errorf("full after %d bytes: error %v, want %q", n, err, want)
		}
		if got, _ := os.ReadFile(path); !bytes.Equal(got, before) {
			t.Errorf("full after %d bytes: the previous file changed", n)
		}
		if des, _ := os.ReadDir(dir); len(des) != 1 {
			t.Errorf("full after %d bytes: %d files left, want just the previous one", n, len(des))
		}
	}
}
