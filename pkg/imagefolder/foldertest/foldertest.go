// Package foldertest makes folders of small PNG images for the tests of the
// image-folder tool and of the stages after it.
package foldertest

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// Write makes n PNGs of size w×h under dir/CLASS/ for each class (or
// directly in dir when classes is nil), each a flat colour that tells its
// class and number apart.
func Write(t testing.TB, dir string, classes []string, n, w, h int) {
	t.Helper()
	subs := classes
	if subs == nil {
		subs = []string{""}
	}
	for c, class := range subs {
		if err := os.MkdirAll(filepath.Join(dir, class), 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			img := image.NewNRGBA(image.Rect(0, 0, w, h))
			for y := range h {
				for x := range w {
					// class c is brightest in channel c, with a texture per image
					v := [3]uint8{30, 30, 30}
					v[c%3] = uint8(150 + 10*c + (x*y+i)%40)
					img.SetNRGBA(x, y, color.NRGBA{v[0], v[1], v[2], 255})
				}
			}
			var buf bytes.Buffer
			if err := png.Encode(&buf, img); err != nil {
				t.Fatal(err)
			}
			name := filepath.Join(dir, class, "img"+string(rune('a'+i/26))+string(rune('a'+i%26))+".png")
			if err := os.WriteFile(name, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
