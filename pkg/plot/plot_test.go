package plot

import (
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func TestCharts(t *testing.T) {
	dir := t.TempDir()
	for name, draw := range map[string]func(string) error{
		"loss.png": func(p string) error { return LossCurve(p, "loss", []float64{6.2, 5.9, 5.7}) },
		"one.png":  func(p string) error { return LossCurve(p, "loss", []float64{6}) },
		"map.png": func(p string) error {
			return Scatter(p, "test features", []float64{0, 1, 2}, []float64{1, 0, 3}, []uint8{0, 1, 9}, []string{"a", "b"})
		},
	} {
		path := filepath.Join(dir, name)
		if err := draw(path); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil || img.Bounds().Dx() != width {
			t.Fatalf("%s: not a %d-wide PNG: %v", name, width, err)
		}
	}
}
