package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/simclr-go/simclr/pkg/features"
	"github.com/simclr-go/simclr/pkg/kern"
	"github.com/simclr-go/simclr/pkg/linprobe"
)

// reference is testdata/reference.json, what PyTorch measured on the
// feature set in testdata (see testdata/reference.py).
type reference struct {
	Probe []struct {
		Standardize bool      `json:"standardize"`
		LR          float64   `json:"lr"`
		Top1Runs    []float64 `json:"top1_runs"`
		Top1Mean    float64   `json:"top1_mean"`
	} `json:"probe"`
	KNN struct {
		K           int     `json:"k"`
		Temperature float64 `json:"temperature"`
		Top1        float64 `json:"top1"`
		Pred        string  `json:"pred"` // one digit per test row
	} `json:"knn"`
}

// TestReference runs linprobe on the features that reference.py trained
// PyTorch's probe and kNN on: the probe must score within 1 point of
// PyTorch's mean over seeds, the kNN must make the same predictions.
func TestReference(t *testing.T) {
	var ref reference
	data, err := os.ReadFile("testdata/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	paths := map[string]string{}
	var dim int
	var x, tx []float32
	for _, split := range []string{"train", "test"} {
		xs, shape := readNPY[float32](t, "testdata/"+split+"_x.npy")
		ys, _ := readNPY[uint8](t, "testdata/"+split+"_y.npy")
		dim = shape[1]
		paths[split] = writeTable(t, dir, split+".arrow", dim, map[string]string{features.MetaSplit: split}, ys, xs)
		if split == "train" {
			x = xs
		} else {
			tx = xs
		}
	}

	for i, cfg := range ref.Probe {
		t.Run(fmt.Sprintf("probe standardize=%v lr=%g", cfg.Standardize, cfg.LR), func(t *testing.T) {
			reportPath := filepath.Join(dir, "report.json")
			args := []string{"--train", paths["train"], "--test", paths["test"], "--lr", fmt.Sprint(cfg.LR), "--report", reportPath}
			if !cfg.Standardize {
				args = append(args, "--no-standardize")
			}
			if i == 0 {
				args = append(args, "--knn", fmt.Sprint(ref.KNN.K), "--knn-temperature", fmt.Sprint(ref.KNN.Temperature))
			}
			var out strings.Builder
			if err := mustParse(t, args...).evaluate(&out, nil); err != nil {
				t.Fatal(err)
			}
			var rep report
			data, err := os.ReadFile(reportPath)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &rep); err != nil {
				t.Fatal(err)
			}
			t.Logf("linprobe top-1 %.2f%%, PyTorch %.2f%% (runs %v)", 100*rep.Probe.Top1, 100*cfg.Top1Mean, cfg.Top1Runs)
			if d := math.Abs(rep.Probe.Top1 - cfg.Top1Mean); d > 0.01 {
				t.Errorf("top-1 %.4f, PyTorch %.4f: %.2f points apart", rep.Probe.Top1, cfg.Top1Mean, 100*d)
			}
			if i == 0 {
				t.Logf("kNN top-1 %.2f%%, PyTorch %.2f%%", 100*rep.KNN.Top1, 100*ref.KNN.Top1)
				if d := math.Abs(rep.KNN.Top1 - ref.KNN.Top1); d > 0.001 {
					t.Errorf("kNN top-1 %.4f, PyTorch %.4f", rep.KNN.Top1, ref.KNN.Top1)
				}
			}
		})
	}

	t.Run("kNN predictions", func(t *testing.T) {
		ty, _ := readNPY[uint8](t, "testdata/train_y.npy")
		pred, err := linprobe.KNN(kern.Default(), x, ty, tx, dim, 10, ref.KNN.K, ref.KNN.Temperature)
		if err != nil {
			t.Fatal(err)
		}
		differ := 0
		for i, p := range pred {
			if ref.KNN.Pred[i] != '0'+p {
				differ++
			}
		}
		t.Logf("%d of %d kNN predictions differ from PyTorch's", differ, len(pred))
		// Rounding can reorder near-equal similarities at the k-th place.
		if differ > len(pred)/1000 {
			t.Errorf("%d of %d predictions differ from PyTorch's", differ, len(pred))
		}
	})
}

var npyShape = regexp.MustCompile(`'shape': \((\d+),\s*(\d*)\)`)

// readNPY reads a little-endian .npy file of float32 or uint8 values, one
// or two dimensions, C order: all reference.py writes.
func readNPY[T float32 | uint8](t *testing.T, path string) ([]T, []int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 10 || string(b[:6]) != "\x93NUMPY" {
		t.Fatalf("%s: not a .npy file", path)
	}
	hlen := int(binary.LittleEndian.Uint16(b[8:10]))
	header, body := string(b[10:10+hlen]), b[10+hlen:]
	var zero T
	descr := map[any]string{float32(0): "'<f4'", uint8(0): "'|u1'"}[any(zero)]
	m := npyShape.FindStringSubmatch(header)
	if !strings.Contains(header, "'descr': "+descr) || !strings.Contains(header, "'fortran_order': False") || m == nil {
		t.Fatalf("%s: header %q, want C-order %s", path, header, descr)
	}
	shape, n := []int{}, 1
	for _, s := range m[1:] {
		if s != "" {
			v, _ := strconv.Atoi(s)
			shape = append(shape, v)
			n *= v
		}
	}
	out := make([]T, n)
	if _, err := binary.Decode(body, binary.LittleEndian, out); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return out, shape
}
