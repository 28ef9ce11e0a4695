package plot

import (
	"image"
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
		"knn.png": func(p string) error {
			return LossAndKNN(p, "loss", []float64{6.2, 5.9, 5.7}, []int{1, 3}, []float64{0.21, 0.3})
		},
		"knn-one.png": func(p string) error { return LossAndKNN(p, "loss", []float64{6}, []int{1}, []float64{0.2}) },
		"map.png": func(p string) error {
			return Scatter(p, "test features", []float64{0, 1, 2}, []float64{1, 0, 3}, []uint8{0, 1, 9}, []string{"a", "b"})
		},
	} {
		path := filepath.Join(dir, name)
		if err := draw(path); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if img := decode(t, path); img.Bounds().Dx() != width {
			t.Fatalf("%s: not %d wide", name, width)
		}
	}
}

func decode(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

// The loss and kNN picture is two charts tall, and refuses accuracies
// without their epochs.
func TestLossAndKNN(t *testing.T) {
	path := filepath.Join(t.TempDir(), "loss.png")
	if err := LossAndKNN(path, "loss", []float64{6.2, 5.9}, []int{1, 2}, []float64{0.2, 0.25}); err != nil {
		t.Fatal(err)
	}
	if img := decode(t, path); img.Bounds().Dy() != 2*height {
		t.Fatalf("not %d high", 2*height)
	}
	if err := LossAndKNN(path, "loss", []float64{6.2}, []int{1}, nil); err == nil {
		t.Error("an epoch without its accuracy was drawn")
	}
}
