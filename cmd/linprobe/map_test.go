package main

import (
	"bytes"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simclr-go/simclr/pkg/features"
	"github.com/simclr-go/simclr/pkg/plot"
)

// ring draws n rows of width dim: class c around the point at angle
// 2πc/10 on a circle in the plane of the first two features, the rest
// noise, so that the first two principal components show ten clusters.
func ring(n, dim int, seed uint64) ([]uint8, []float32) {
	r := rand.New(rand.NewPCG(seed, 0))
	y, x := make([]uint8, n), make([]float32, n*dim)
	for i := range n {
		y[i] = uint8(i % 10)
		angle := 2 * math.Pi * float64(y[i]) / 10
		for j := range dim {
			x[i*dim+j] = 0.1 * float32(r.NormFloat64())
		}
		x[i*dim] += float32(10 * math.Cos(angle))
		x[i*dim+1] += float32(10 * math.Sin(angle))
	}
	return y, x
}

func TestMap(t *testing.T) {
	dir := t.TempDir()
	y, x := separable(600, 8, 1)
	train := writeTable(t, dir, "train.arrow", 8, nil, y, x)
	ty, tx := ring(400, 8, 2)
	test := writeTable(t, dir, "test.arrow", 8, map[string]string{features.MetaEpoch: "7"}, ty, tx)
	narrow := writeTable(t, dir, "narrow.arrow", 1, nil, ty, tx[:400])

	for _, tc := range []struct {
		name, train, test string
		want              string // error, or "" for a map
	}{
		{"map", train, test, ""},
		{"one feature", narrow, narrow, "--map: features of width 1 have no second component"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".png")
			err := mustParse(t, "--train", tc.train, "--test", tc.test, "--epochs", "2", "--map", path).evaluate(&bytes.Buffer{}, nil)
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("error %v, want %q", err, tc.want)
				}
				if _, err := os.Stat(path); !os.IsNotExist(err) {
					t.Errorf("%s written despite the error", path)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			img, err := png.Decode(f)
			if err != nil {
				t.Fatal(err)
			}
			// Every class has points in its colour left of the legend.
			seen := map[[3]uint32]bool{}
			b := img.Bounds()
			for py := b.Min.Y; py < b.Max.Y; py++ {
				for px := b.Min.X; px < b.Max.X-112; px++ {
					r, g, b, _ := img.At(px, py).RGBA()
					seen[[3]uint32{r >> 8, g >> 8, b >> 8}] = true
				}
			}
			for c, col := range plot.Palette {
				if !seen[[3]uint32{uint32(col.R), uint32(col.G), uint32(col.B)}] {
					t.Errorf("class %d's colour %v is not in the map", c, col)
				}
			}
		})
	}
}
