package main

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/simclr-go/simclr/pkg/arrowio"
	"github.com/simclr-go/simclr/pkg/arrowio/arrowiotest"
	"github.com/simclr-go/simclr/pkg/cifar"
)

// TestRealCIFAR10 converts the real dataset from ../shared/cifar10/ (beside
// the module root) and checks published facts about it. It skips when the
// archive is absent.
func TestRealCIFAR10(t *testing.T) {
	src := filepath.Join(arrowiotest.ModuleRoot(t), "..", "shared", "cifar10", "cifar-10-binary.tar.gz")
	if _, err := os.Stat(src); err != nil {
		t.Skipf("real dataset absent: %v", err)
	}
	if testing.Short() {
		t.Skip("converting the real dataset takes seconds; skipped with -short")
	}
	out := t.TempDir()
	start := time.Now()
	if err := run([]string{"--archive", src, "--out-dir", out, "-q"}, cifar.OfficialMD5); err != nil {
		t.Fatal(err)
	}
	t.Logf("converted the real archive in %v", time.Since(start).Round(time.Millisecond))

	for _, tt := range []struct {
		split      cifar.Split
		perClass   int
		first      []uint8
		meanRGB    [3]float64 // published per-channel means, 0-255
		checkMeans bool
	}{
		{cifar.Train, 5000, []uint8{6, 9, 9, 4, 1, 1, 2, 7, 8, 3}, [3]float64{125.31, 122.95, 113.87}, true},
		{cifar.Test, 1000, []uint8{3, 8, 8, 0, 6, 6, 1, 6, 3, 1}, [3]float64{}, false},
	} {
		t.Run(string(tt.split), func(t *testing.T) {
			path := filepath.Join(out, string(tt.split)+".arrow")
			r, err := arrowio.OpenImages(path)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			var (
				counts [10]int
				labels []uint8
				sums   [3]float64
				rows   int
			)
			for r.Next() {
				b := r.Batch()
				for i, l := range b.Label {
					if b.Index[i] != int32(rows+i) {
						t.Fatalf("row %d has index %d", rows+i, b.Index[i])
					}
					counts[l]++
				}
				labels = append(labels, b.Label[:min(len(b.Label), 10-len(labels))]...)
				for i := range b.Len() {
					img := b.Image(i)
					for c := range 3 {
						var s int
						for _, p := range img[c*1024 : (c+1)*1024] {
							s += int(p)
						}
						sums[c] += float64(s)
					}
				}
				rows += b.Len()
			}
			if err := r.Err(); err != nil {
				t.Fatal(err)
			}
			if rows != tt.perClass*10 {
				t.Errorf("%d rows, want %d", rows, tt.perClass*10)
			}
			for c, n := range counts {
				if n != tt.perClass {
					t.Errorf("class %d (%s): %d images, want %d", c, arrowio.ClassNames[c], n, tt.perClass)
				}
			}
			if !slices.Equal(labels, tt.first) {
				t.Errorf("first labels %v, want %v", labels, tt.first)
			}
			if tt.checkMeans {
				for c := range 3 {
					mean := sums[c] / float64(rows*1024)
					t.Logf("channel %d mean %.3f", c, mean)
					if math.Abs(mean-tt.meanRGB[c]) > 0.005 {
						t.Errorf("channel %d mean %.4f, want %.2f", c, mean, tt.meanRGB[c])
					}
				}
			}
			if tt.split == cifar.Test {
				checkWithArrowJS(t, path, rows, string(tt.split))
			}
		})
	}
}
