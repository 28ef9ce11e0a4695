package main

import (
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/simclr-go/simclr/pkg/arrowio"
	"github.com/simclr-go/simclr/pkg/arrowio/arrowiotest"
	"github.com/simclr-go/simclr/pkg/cifar"
	"github.com/simclr-go/simclr/pkg/cifar/cifartest"
	"github.com/simclr-go/simclr/pkg/kern"
	trainpkg "github.com/simclr-go/simclr/pkg/train"
	"github.com/simclr-go/simclr/tests/toolbin"
)

// A synthetic CIFAR-100 archive: train spans two record batches.
const train100, test100 = 1100, 300

var archive100 = cifartest.Archive100(train100, test100)

// useArchive100 makes data the archive cifar-fetch accepts as official.
func useArchive100(t *testing.T, data []byte) {
	t.Helper()
	sum := md5.Sum(data)
	old := archive100MD5
	archive100MD5 = hex.EncodeToString(sum[:])
	t.Cleanup(func() { archive100MD5 = old })
}

// checkTable100 checks a table made from the synthetic CIFAR-100 archive.
func checkTable100(t *testing.T, path string, rows int) map[string]string {
	t.Helper()
	r, err := arrowio.OpenImages(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !slices.Equal(r.Extra(), []string{cifar.ColCoarseLabel}) || !slices.Equal(r.ClassNames(), cifartest.FineNames()) {
		t.Fatalf("%s: extra columns %v, classes %v", path, r.Extra(), r.ClassNames())
	}
	n := 0
	var stats arrowio.ChannelStats
	for r.Next() {
		b := r.Batch()
		stats.Add(b.Pixels)
		for i := range b.Len() {
			fine, coarse := cifartest.Label100(n)
			if b.Index[i] != int32(n) || b.Label[i] != fine || b.Extra[cifar.ColCoarseLabel][i] != int32(coarse) || b.Image(i)[2000] != cifartest.Pixel(n, 2000) {
				t.Fatalf("%s: row %d differs from the archive", path, n)
			}
			n++
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if n != rows {
		t.Fatalf("%s: %d rows, want %d", path, n, rows)
	}
	md := r.Metadata()
	want := map[string]string{}
	stats.SetMeta(want)
	if md[arrowio.MetaChannelMean] != want[arrowio.MetaChannelMean] || md[arrowio.MetaChannelStd] != want[arrowio.MetaChannelStd] {
		t.Errorf("%s: channel statistics %s %s, computed from its rows %s %s", path,
			md[arrowio.MetaChannelMean], md[arrowio.MetaChannelStd], want[arrowio.MetaChannelMean], want[arrowio.MetaChannelStd])
	}
	var coarse []string
	if err := json.Unmarshal([]byte(md[cifar.MetaCoarseClassNames]), &coarse); err != nil || !slices.Equal(coarse, cifartest.CoarseNames()) {
		t.Errorf("%s: coarse names %q (%v)", path, md[cifar.MetaCoarseClassNames], err)
	}
	return md
}

func TestCIFAR100LocalArchive(t *testing.T) {
	useArchive100(t, archive100)
	src := filepath.Join(t.TempDir(), "cifar-100-binary.tar.gz")
	if err := os.WriteFile(src, archive100, 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := run([]string{"--dataset", "cifar100", "--archive", src, "--out-dir", out, "-q"}, sums); err != nil {
		t.Fatal(err)
	}
	md := checkTable100(t, filepath.Join(out, "train.arrow"), train100)
	if md[arrowio.MetaSplit] != "train" || md[arrowio.MetaSource] != "cifar-100-binary.tar.gz" {
		t.Errorf("metadata %v", md)
	}
	checkTable100(t, filepath.Join(out, "test.arrow"), test100)
	t.Log(arrowiotest.PolarsTable(t, filepath.Join(out, "test.arrow"), map[string]any{
		"columns": [][2]string{{"index", "Int32"}, {"label", "UInt8"}, {"image", "FixedSizeList(UInt8,3072)"}, {"coarse_label", "Int32"}},
		"rows":    test100, "sequentialIndex": true,
		"labels": []int{0, 7, 14}, "ints": map[string]any{"coarse_label": []int{0, 1, 2}},
		"list": "image", "first": []int{int(cifartest.Pixel(0, 0)), int(cifartest.Pixel(0, 1))},
	}))
}

func TestCIFAR100Download(t *testing.T) {
	useArchive100(t, archive100)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(archive100) }))
	defer ts.Close()
	out := t.TempDir()
	url := ts.URL + "/kriz/cifar-100-binary.tar.gz"
	if err := run([]string{"--dataset", "cifar100", "--url", url, "--cache-dir", t.TempDir(), "--out-dir", out, "--split", "test", "-q"}, sums); err != nil {
		t.Fatal(err)
	}
	if md := checkTable100(t, filepath.Join(out, "test.arrow"), test100); md[arrowio.MetaSource] != url {
		t.Errorf("source %q, want the URL", md[arrowio.MetaSource])
	}
}

func TestCIFAR100Refused(t *testing.T) {
	bad := cifartest.Archive100(10, 5)
	for _, tt := range []struct {
		name     string
		data     []byte
		official bool // the archive's MD5 is taken as the official one
		want     string
	}{
		{"not the official archive", bad, false, "not the official cifar-100-binary.tar.gz"},
		{"cut archive", archive100[:len(archive100)/2], true, "truncated archive"},
		{"no records", cifartest.Archive100(0, 5), true, "train.bin: size 0 is not a whole number of 3074-byte records"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.official {
				useArchive100(t, tt.data)
			}
			src := filepath.Join(t.TempDir(), "cifar-100-binary.tar.gz")
			if err := os.WriteFile(src, tt.data, 0o644); err != nil {
				t.Fatal(err)
			}
			out := t.TempDir()
			err := run([]string{"--dataset", "cifar100", "--archive", src, "--out-dir", out, "-q"}, sums)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one containing %q", err, tt.want)
			}
			if des, _ := os.ReadDir(out); len(des) != 0 {
				t.Errorf("left %v behind", des)
			}
		})
	}
}

// CIFAR-100's tables go through the later stages as CIFAR-10's do:
// pretraining normalises with their statistics, and the probe reports the
// 100 fine classes.
func TestCIFAR100ThroughTheStages(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the tools and trains a little")
	}
	useArchive100(t, archive100)
	src := filepath.Join(t.TempDir(), "cifar-100-binary.tar.gz")
	if err := os.WriteFile(src, archive100, 0o644); err != nil {
		t.Fatal(err)
	}
	data, work := t.TempDir(), t.TempDir()
	if err := run([]string{"--dataset", "cifar100", "--archive", src, "--out-dir", data, "-q"}, sums); err != nil {
		t.Fatal(err)
	}
	train, test := filepath.Join(data, "train.arrow"), filepath.Join(data, "test.arrow")
	toolbin.Run(t, "pretrain", train, "--out-dir", filepath.Join(work, "pretrain"), "--batch", "8", "--epochs", "1",
		"--warmup-epochs", "0", "--proj-hidden", "16", "--proj-out", "8", "--max-steps", "2", "--threads", "1")
	ckpt := filepath.Join(work, "pretrain", "simclr_epoch000_step00002.safetensors")
	feats := map[string]string{}
	for split, table := range map[string]string{"train": train, "test": test} {
		feats[split] = filepath.Join(work, split+".arrow")
		toolbin.Run(t, "extract", table, "--checkpoint", ckpt, "-o", feats[split], "--threads", "1")
	}
	report := filepath.Join(work, "linprobe.json")
	toolbin.Run(t, "linprobe", "--train", feats["train"], "--test", feats["test"], "--epochs", "5", "--knn", "20", "--report", report)
	raw, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		ClassNames []string `json:"class_names"`
		Probe      struct {
			Confusion [][]int `json:"confusion"`
		} `json:"probe"`
	}
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.ClassNames, cifartest.FineNames()) || len(rep.Probe.Confusion) != 100 || len(rep.Probe.Confusion[0]) != 100 {
		t.Errorf("report: %d class names (%v...), a %d-row confusion matrix; want CIFAR-100's 100 fine classes",
			len(rep.ClassNames), rep.ClassNames[:min(3, len(rep.ClassNames))], len(rep.Probe.Confusion))
	}
	// Pretraining normalised with the table's statistics, and keeps them.
	md := checkTable100(t, train, train100)
	var mean []float32
	if err := json.Unmarshal([]byte(md[arrowio.MetaChannelMean]), &mean); err != nil {
		t.Fatal(err)
	}
	_, source, err := trainpkg.LoadEncoder(kern.Default(), ckpt, "", 1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(source.Config.Mean, mean) {
		t.Errorf("checkpoint mean %v, the table's %v", source.Config.Mean, mean)
	}
}
