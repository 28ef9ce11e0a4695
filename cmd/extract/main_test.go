package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/simclr-go/simclr/pkg/arrowio"
	"github.com/simclr-go/simclr/pkg/arrowio/arrowiotest"
	"github.com/simclr-go/simclr/pkg/cifar/cifartest"
	"github.com/simclr-go/simclr/pkg/features"
	"github.com/simclr-go/simclr/pkg/kern"
	"github.com/simclr-go/simclr/pkg/safetensors"
	"github.com/simclr-go/simclr/pkg/train"
)

// writeImages writes n small synthetic images as an image table and returns
// its path.
func writeImages(t *testing.T, n int) string {
	t.Helper()
	b := arrowio.ImageBatch{Index: make([]int32, n), Label: make([]uint8, n), Pixels: make([]uint8, n*arrowio.ImageSize)}
	for i := range n {
		b.Index[i], b.Label[i] = int32(10+i), uint8(i%10)
		for j := range arrowio.ImageSize {
			b.Pixels[i*arrowio.ImageSize+j] = uint8(j*(i+1) + j/1024*70)
		}
	}
	return cifartest.WriteTable(t, b)
}

func TestLimit(t *testing.T) {
	in := writeImages(t, 6)
	dir := t.TempDir()
	extractTo := func(name string, args ...string) *features.Table {
		t.Helper()
		out := filepath.Join(dir, name)
		if err := run(append([]string{"--random-init", "--threads", "1", in, "-o", out}, args...)); err != nil {
			t.Fatalf("extract %v: %v", args, err)
		}
		tab, err := features.ReadAll(out)
		if err != nil {
			t.Fatal(err)
		}
		return tab
	}
	all := extractTo("all.arrow")
	if all.Len() != 6 || all.Metadata[features.MetaSplit] != "test" {
		t.Fatalf("no limit: %d rows, metadata %v; want 6 rows of split test", all.Len(), all.Metadata)
	}
	for _, tc := range []struct {
		name  string
		args  []string
		rows  int
		index []int32
	}{
		{"within a forward batch", []string{"--limit", "2"}, 2, []int32{10, 11}},
		{"across forward batches", []string{"--limit", "5", "--batch", "2"}, 5, []int32{10, 11, 12, 13, 14}},
		{"more than the table", []string{"--limit", "10"}, 6, []int32{10, 11, 12, 13, 14, 15}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := extractTo(strings.ReplaceAll(tc.name, " ", "_")+".arrow", tc.args...)
			if got.Len() != tc.rows || !slices.Equal(got.Index, tc.index) {
				t.Fatalf("%d rows, index %v; want %d rows, index %v", got.Len(), got.Index, tc.rows, tc.index)
			}
			// The same encoder in eval mode: a row's features do not depend
			// on the rows around it.
			if !slices.Equal(got.Features, all.Features[:tc.rows*all.Dim]) {
				t.Errorf("features differ from the first %d rows of the whole table's", tc.rows)
			}
		})
	}
}

func TestLimitNegative(t *testing.T) {
	in := writeImages(t, 1)
	err := run([]string{"--random-init", in, "-o", filepath.Join(t.TempDir(), "f.arrow"), "--limit=-1"})
	if err == nil || !strings.Contains(err.Error(), "--limit -1") {
		t.Errorf("error %v, want one about --limit -1", err)
	}
}

// The feature table opens in Apache Arrow JS and nodejs-polars with the
// schema, rows and values we wrote.
func TestFeaturesReadByArrowJSAndPolars(t *testing.T) {
	in := writeImages(t, 3)
	out := filepath.Join(t.TempDir(), "feats.arrow")
	if err := run([]string{"--random-init", in, "-o", out}); err != nil {
		t.Fatal(err)
	}
	tab, err := features.ReadAll(out)
	if err != nil {
		t.Fatal(err)
	}
	// float32 values survive JSON as float64 exactly.
	f0 := make([]float64, 4)
	for i := range f0 {
		f0[i] = float64(tab.Features[i])
	}
	want, _ := json.Marshal(map[string]any{"rows": 3, "dim": 512, "split": "test",
		"index": []int{10, 11, 12}, "label": []int{0, 1, 2}, "feature0": f0})
	t.Log(arrowiotest.ArrowJS(t, "check_features.mjs", out, string(want)))
	t.Log(arrowiotest.PolarsTable(t, out, map[string]any{
		"columns": [][2]string{{"index", "Int32"}, {"label", "UInt8"}, {"feature", "FixedSizeList(Float32,512)"}},
		"rows":    3,
		"labels":  []int{0, 1, 2},
		"ints":    map[string]any{"index": []int{10, 11, 12}},
		"list":    "feature",
		"first":   f0,
	}))
}

func TestBadCheckpoints(t *testing.T) {
	in := writeImages(t, 2)
	dir := t.TempDir()
	notST := filepath.Join(dir, "images.safetensors")
	if err := os.WriteFile(notST, []byte("definitely not safetensors"), 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.safetensors")
	if err := safetensors.Save(other, []safetensors.Tensor{safetensors.F32("conv1.weight", []int{64, 3, 3, 3}, make([]float32, 64*27))},
		map[string]string{"stem": "imagenet"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing file", []string{"--checkpoint", filepath.Join(dir, "nope.safetensors")}, "no such file"},
		{"not safetensors", []string{"--checkpoint", notST}, "images.safetensors"},
		{"other architecture", []string{"--checkpoint", other}, "conv1.weight has shape [64 3 3 3], this model needs [64 3 7 7]"},
		{"neither source", nil, "exactly one of --checkpoint"},
	} {
		out := filepath.Join(dir, "feats.arrow")
		err := run(append([]string{in, "-o", out}, tc.args...))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
		if _, statErr := os.Stat(out); statErr == nil {
			t.Errorf("%s: left %s behind", tc.name, out)
		}
	}
}

// Extraction normalises pixels as training did: with the channel statistics
// in the checkpoint's config; a random encoder with the table's own.
func TestNormalization(t *testing.T) {
	b, _ := cifartest.ReadTable(t, writeImages(t, 4))
	stats := map[string]string{arrowio.MetaChannelMean: "[0.3,0.4,0.5]", arrowio.MetaChannelStd: "[0.2,0.25,0.3]"}
	plain, withStats := cifartest.WriteTable(t, b), cifartest.WriteTableMeta(t, b, stats)
	dir := t.TempDir()
	feats := func(name string, args ...string) []float32 {
		t.Helper()
		out := filepath.Join(dir, name)
		if err := run(append([]string{"--threads", "1", "-o", out}, args...)); err != nil {
			t.Fatalf("extract %v: %v", args, err)
		}
		tab, err := features.ReadAll(out)
		if err != nil {
			t.Fatal(err)
		}
		return tab.Features
	}
	// A checkpoint of the initial weights (seed 0, as --random-init --seed 0)
	// of a run over the table with statistics.
	cfg := train.DefaultConfig()
	cfg.Batch, cfg.Mean, cfg.Std = 4, []float32{0.3, 0.4, 0.5}, []float32{0.2, 0.25, 0.3}
	tr, err := train.New(kern.Default(), cfg, train.Dataset{Pixels: b.Pixels, Index: b.Index, Label: b.Label})
	if err != nil {
		t.Fatal(err)
	}
	ckpt := filepath.Join(dir, "init.safetensors")
	if err := tr.Checkpoint(ckpt); err != nil {
		t.Fatal(err)
	}
	tr.Close()

	random := feats("random.arrow", "--random-init", withStats)
	fromCkpt := feats("ckpt.arrow", "--checkpoint", ckpt, plain) // the table's lack of statistics does not matter
	cifar := feats("cifar.arrow", "--random-init", plain)
	if !slices.Equal(random, fromCkpt) {
		t.Error("the checkpoint's statistics and the table's gave different features")
	}
	if slices.Equal(random, cifar) {
		t.Error("the table's statistics changed nothing against CIFAR-10's")
	}
}

// Every numeric flag refuses zero, negative and absurd values, naming the
// flag, before any work.
func TestBadFlags(t *testing.T) {
	in := writeImages(t, 1)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--batch", "0"}, "--batch 0: want 1 to 65536"},
		{[]string{"--batch=-3"}, "--batch -3"},
		{[]string{"--batch", "1000000"}, "--batch 1000000"},
		{[]string{"--limit=-1"}, "--limit -1: want 0 to"},
		{[]string{"--threads=-1"}, "--threads -1: want 0 to 4096"},
		{[]string{"--threads", "99999"}, "--threads 99999"},
	} {
		out := filepath.Join(t.TempDir(), "f.arrow")
		err := run(append([]string{"--random-init", in, "-o", out}, tc.args...))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one containing %q", tc.args, err, tc.want)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%v: %s written", tc.args, out)
		}
	}
}

// A temporary that a killed extract left beside its output is removed; one
// of another output stays.
func TestRemovesStaleTemporaries(t *testing.T) {
	in, dir := writeImages(t, 2), t.TempDir()
	out := filepath.Join(dir, "f.arrow")
	stale, other := filepath.Join(dir, ".f.arrow.tmp-99"), filepath.Join(dir, ".g.arrow.tmp-99")
	for _, p := range []string{stale, other} {
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := run([]string{"--random-init", in, "-o", out, "--batch", "2", "--threads", "1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("%s still there: %v", stale, err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("%s removed: %v", other, err)
	}
}
