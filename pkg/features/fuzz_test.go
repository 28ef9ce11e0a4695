package features

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReader reads arbitrary bytes as a feature table, as an IPC file and
// as a stream: an error, or rows whose values passed the checks (labels in
// the class list, finite features), never a panic or a hang. The seeds are
// small real tables, files and streams, whole and cut.
func FuzzReader(f *testing.F) {
	b := sample(3, 4)
	var stream bytes.Buffer
	w, err := NewWriter(&stream, "seed", 4, nil)
	if err != nil {
		f.Fatal(err)
	}
	path := filepath.Join(f.TempDir(), "seed.arrow")
	fw, err := Create(path, 4, map[string]string{MetaClassNames: `["a","b","c"]`})
	if err != nil {
		f.Fatal(err)
	}
	for _, w := range []*Writer{w, fw} {
		if err := w.Write(b); err != nil {
			f.Fatal(err)
		}
		if err := w.Close(); err != nil {
			f.Fatal(err)
		}
	}
	file, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][]byte{stream.Bytes(), file} {
		f.Add(seed)
		f.Add(seed[:len(seed)*2/3])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, in := range []io.Reader{bytes.NewReader(data), struct{ io.Reader }{bytes.NewReader(data)}} {
			tab, err := ReadAllFrom(in, "fuzz")
			if err != nil {
				continue
			}
			if len(tab.Index) != tab.Len() || len(tab.Features) != tab.Len()*tab.Dim {
				t.Fatalf("%d rows with %d indices and %d values of width %d", tab.Len(), len(tab.Index), len(tab.Features), tab.Dim)
			}
			for i, y := range tab.Label {
				if int(y) >= len(tab.ClassNames) {
					t.Fatalf("row %d: label %d of %d classes passed", i, y, len(tab.ClassNames))
				}
			}
			for i, v := range tab.Features {
				if v-v != 0 {
					t.Fatalf("value %d is %v", i, v)
				}
			}
		}
	})
}
