package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/simclr-go/simclr/pkg/arrowio"
	"github.com/simclr-go/simclr/pkg/arrowio/arrowiotest"
	"github.com/simclr-go/simclr/pkg/cifar/cifartest"
	"github.com/simclr-go/simclr/pkg/features"
	"github.com/simclr-go/simclr/pkg/kern"
	"github.com/simclr-go/simclr/pkg/safetensors"
	"github.com/simclr-go/simclr/pkg/train"
)

// images returns n small synthetic images.
func images(n int) arrowio.ImageBatch {
	b := arrowio.ImageBatch{Index: make([]int32, n), Label: make([]uint8, n), Pixels: make([]uint8, n*arrowio.ImageSize)}
	for i := range n {
		b.Index[i], b.Label[i] = int32(10+i), uint8(i%10)
		for j := range arrowio.ImageSize {
			b.Pixels[i*arrowio.ImageSize+j] = uint8(j*(i+1) + j/1024*70)
		}
	}
	return b
}

// writeImages writes n small synthetic images as an image table and returns
// its path.
func writeImages(t *testing.T, n int) string {
	t.Helper()
	return cifartest.WriteTable(t, images(n))
}

// writeBatched writes n small synthetic images as an image table of record
// batches of step rows, an IPC file (or a stream), and returns its path.
func writeBatched(t *testing.T, n, step int, file bool) string {
	t.Helper()
	b, path := images(n), filepath.Join(t.TempDir(), "images.arrow")
	schema := arrowio.ImageSchema(map[string]string{arrowio.MetaSplit: "test"})
	var w *arrowio.RecordWriter
	var err error
	if file {
		w, err = arrowio.CreateIPC(path, schema, arrowio.WriteOptions{AsGiven: true})
	} else {
		var f *os.File
		if f, err = os.Create(path); err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		w, err = arrowio.NewIPCWriter(f, path, schema, arrowio.WriteOptions{AsGiven: true})
	}
	if err != nil {
		t.Fatal(err)
	}
	for lo := 0; lo < n; lo += step {
		hi := min(lo+step, n)
		if err := w.Write(hi-lo, arrow.Int32Traits.CastToBytes(b.Index[lo:hi]), b.Label[lo:hi], b.Pixels[lo*arrowio.ImageSize:hi*arrowio.ImageSize]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
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
	// The whole table at each --batch: the kernels a layer runs depend on
	// the forward pass's size, so only the same --batch gives the same bits.
	all := map[string]*features.Table{"": extractTo("all.arrow"), "2": extractTo("all-2.arrow", "--batch", "2")}
	if all[""].Len() != 6 || all[""].Metadata[features.MetaSplit] != "test" {
		t.Fatalf("no limit: %d rows, metadata %v; want 6 rows of split test", all[""].Len(), all[""].Metadata)
	}
	for _, tc := range []struct {
		name  string
		batch string // "": the default
		limit string
		rows  int
		index []int32
	}{
		{"within a forward batch", "", "2", 2, []int32{10, 11}},
		{"across forward batches", "2", "5", 5, []int32{10, 11, 12, 13, 14}},
		{"more than the table", "", "10", 6, []int32{10, 11, 12, 13, 14, 15}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"--limit", tc.limit}
			if tc.batch != "" {
				args = append(args, "--batch", tc.batch)
			}
			got := extractTo(strings.ReplaceAll(tc.name, " ", "_")+".arrow", args...)
			if got.Len() != tc.rows || !slices.Equal(got.Index, tc.index) {
				t.Fatalf("%d rows, index %v; want %d rows, index %v", got.Len(), got.Index, tc.rows, tc.index)
			}
			// The same encoder in eval mode, every forward pass of --batch
			// images: a row's features do not depend on the rows around it.
			if all := all[tc.batch]; !slices.Equal(got.Features, all.Features[:tc.rows*all.Dim]) {
				t.Errorf("features differ from the first %d rows of the whole table's", tc.rows)
			}
		})
	}
}

// The shards of every count, concatenated in order, are the unsharded table
// bit for bit: every column, and the metadata but for the shard's own keys.
// The record batches of 3 rows make shards begin and end inside them, and
// --batch 2 forward passes inside those.
func TestShards(t *testing.T) {
	in, dir := writeBatched(t, 20, 3, true), t.TempDir()
	extractTo := func(name string, args ...string) *features.Table {
		t.Helper()
		out := filepath.Join(dir, name)
		if err := run(append([]string{"--random-init", "--threads", "1", "--batch", "2", "--limit", "17", in, "-o", out}, args...)); err != nil {
			t.Fatalf("extract %v: %v", args, err)
		}
		tab, err := features.ReadAll(out)
		if err != nil {
			t.Fatal(err)
		}
		return tab
	}
	bytesOf := func(tabs ...*features.Table) (index, label, feature []byte) {
		for _, tab := range tabs {
			index = append(index, arrow.Int32Traits.CastToBytes(tab.Index)...)
			label = append(label, tab.Label...)
			feature = append(feature, arrow.Float32Traits.CastToBytes(tab.Features)...)
		}
		return index, label, feature
	}
	whole := extractTo("whole.arrow")
	wantIndex, wantLabel, wantFeature := bytesOf(whole)
	for _, n := range []int{1, 2, 3, 7} {
		t.Run(fmt.Sprintf("%d shards", n), func(t *testing.T) {
			shards := make([]*features.Table, n)
			for i := range n {
				args := []string{"--shard", fmt.Sprintf("%d/%d", i, n)}
				switch n {
				case 2: // --shard wins over --shards
					args = append(args, "--shards", "5")
				case 3: // as in a pod of a Kubernetes Indexed Job
					t.Setenv("JOB_COMPLETION_INDEX", strconv.Itoa(i))
					args = []string{"--shards", "3"}
				}
				shards[i] = extractTo(fmt.Sprintf("%d-of-%d.arrow", i, n), args...)
				md := shards[i].Metadata
				if lo, hi := (features.Shard{I: i, N: n}).Rows(17); md[features.MetaShard] != fmt.Sprintf("%d/%d", i, n) ||
					md[features.MetaShardRows] != fmt.Sprintf("%d:%d", lo, hi) || md[features.MetaShardTableRows] != "17" {
					t.Errorf("shard %d/%d: metadata %v", i, n, md)
				}
				for _, k := range []string{features.MetaShard, features.MetaShardRows, features.MetaShardTableRows} {
					delete(md, k)
				}
				if !maps.Equal(md, whole.Metadata) {
					t.Errorf("shard %d/%d: metadata %v, want the unsharded table's %v", i, n, md, whole.Metadata)
				}
			}
			index, label, feature := bytesOf(shards...)
			if !bytes.Equal(index, wantIndex) || !bytes.Equal(label, wantLabel) || !bytes.Equal(feature, wantFeature) {
				t.Errorf("the shards concatenated differ from the unsharded table: index %v, want %v", shards[0].Index, whole.Index)
			}
		})
	}
}

// Bad shard flags and inputs that cannot be sharded are refused, naming the
// flag or variable, before anything is written.
func TestBadShards(t *testing.T) {
	file, stream := writeBatched(t, 5, 2, true), writeBatched(t, 5, 2, false)
	for _, tc := range []struct {
		args  []string
		index string // JOB_COMPLETION_INDEX; "": unset
		want  string
	}{
		{[]string{"--shard", "3/3"}, "", "--shard 3/3: shard 3 of 3: want 0 to 2"},
		{[]string{"--shard=-1/3"}, "", "--shard -1/3: shard -1 of 3: want 0 to 2"},
		{[]string{"--shard", "0/0"}, "", "--shard 0/0: 0 shards: want 1 to"},
		{[]string{"--shard", "x/3"}, "", "--shard x/3: want I/N, shard I of N counted from 0"},
		{[]string{"--shard", "2"}, "", "--shard 2: want I/N"},
		{[]string{"--shards=-1"}, "", "--shards -1: want 0 to"},
		{[]string{"--shards", "3"}, "", "--shards 3: JOB_COMPLETION_INDEX is not set (a Kubernetes Indexed Job sets it in each pod); elsewhere give --shard I/3"},
		{[]string{"--shards", "3"}, "3", `--shards 3: JOB_COMPLETION_INDEX="3": want a shard index 0 to 2`},
		{[]string{"--shards", "3"}, "one", `--shards 3: JOB_COMPLETION_INDEX="one": want a shard index 0 to 2`},
		{[]string{"--shard", "0/6"}, "", "--shard 0/6: 6 shards of the input's 5 rows would leave some empty; use at most 5"},
		{[]string{"--shard", "0/4", "--limit", "3"}, "", "--shard 0/4: 4 shards of the input's 3 rows would leave some empty; use at most 3"},
		{[]string{"--shard", "0/2", stream}, "", "--shard 0/2: the input " + stream + " is an IPC stream, whose rows are counted only at its end; give an IPC file"},
	} {
		t.Run(strings.Join(tc.args, " ")+" "+tc.index, func(t *testing.T) {
			t.Setenv("JOB_COMPLETION_INDEX", tc.index)
			if tc.index == "" {
				os.Unsetenv("JOB_COMPLETION_INDEX")
			}
			out := filepath.Join(t.TempDir(), "f.arrow")
			args := append([]string{"--random-init", "--threads", "1", "-o", out}, tc.args...)
			if !slices.Contains(args, stream) {
				args = append(args, file)
			}
			err := run(args)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("%s written", out)
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
