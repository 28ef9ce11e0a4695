package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simclr-go/simclr/pkg/arrowio"
	"github.com/simclr-go/simclr/pkg/cifar/cifartest"
	"github.com/simclr-go/simclr/pkg/safetensors"
)

// writeImages writes n synthetic images as an image table.
func writeImages(t *testing.T, n int) string {
	t.Helper()
	b := arrowio.ImageBatch{Index: make([]int32, n), Label: make([]uint8, n), Pixels: make([]uint8, n*arrowio.ImageSize)}
	for i := range n {
		b.Index[i], b.Label[i] = int32(i), uint8(i%10)
		for j := range arrowio.ImageSize {
			b.Pixels[i*arrowio.ImageSize+j] = uint8(j*(i+3) + i)
		}
	}
	return cifartest.WriteTable(t, b)
}

// A run stopped by --max-steps leaves a step checkpoint; resuming from it
// completes the run, whose final checkpoint, log and loss curve appear.
func TestStopAndResume(t *testing.T) {
	in, out := writeImages(t, 8), t.TempDir()
	small := []string{in, "--out-dir", out, "--batch", "4", "--epochs", "1", "--warmup-epochs", "0",
		"--proj-hidden", "16", "--proj-out", "8", "--threads", "1"}
	if err := run(append(small, "--max-steps", "1")); err != nil {
		t.Fatal(err)
	}
	step := filepath.Join(out, "simclr_epoch000_step00001.safetensors")
	if err := run(append(small, "--resume", step)); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"simclr_epoch001.safetensors", "log.jsonl", "loss.png"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Errorf("missing %s: %v", name, err)
		}
	}
	f, err := safetensors.Load(filepath.Join(out, "simclr_epoch001.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if f.Metadata["epoch"] != "1" || f.Metadata["global_step"] != "2" {
		t.Errorf("final checkpoint at epoch %s step %s, want 1 and 2", f.Metadata["epoch"], f.Metadata["global_step"])
	}
}

func TestBadInputs(t *testing.T) {
	in, dir := writeImages(t, 8), t.TempDir()
	junk := filepath.Join(dir, "junk.safetensors")
	if err := os.WriteFile(junk, []byte("not a checkpoint at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	notRun := filepath.Join(dir, "weights.safetensors")
	if err := safetensors.Save(notRun, []safetensors.Tensor{safetensors.I64("x", 1)}, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"corrupt checkpoint", []string{"--resume", junk}, "junk.safetensors"},
		{"not a pretraining checkpoint", []string{"--resume", notRun}, "not a pretraining checkpoint"},
		{"batch larger than the data", []string{"--batch", "16"}, "less than one batch"},
		{"missing input", []string{filepath.Join(dir, "nope.arrow")}, "nope.arrow"},
	} {
		args := append([]string{in, "--out-dir", dir, "--batch", "4"}, tc.args...)
		if tc.name == "missing input" {
			args = append(tc.args, "--out-dir", dir)
		}
		err := run(args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

// writeClassTable writes n images of the given classes (labels i%len) as an
// image table, with metadata extra.
func writeClassTable(t *testing.T, n int, classes string, labels int, extra map[string]string) string {
	t.Helper()
	b := arrowio.ImageBatch{Index: make([]int32, n), Label: make([]uint8, n), Pixels: make([]uint8, n*arrowio.ImageSize)}
	for i := range n {
		b.Index[i], b.Label[i] = int32(i), uint8(i%labels)
		for j := range arrowio.ImageSize {
			b.Pixels[i*arrowio.ImageSize+j] = uint8(j*(i+3) + i)
		}
	}
	meta := map[string]string{arrowio.MetaClassNames: classes}
	for k, v := range extra {
		meta[k] = v
	}
	return cifartest.WriteTableMeta(t, b, meta)
}

// The supervised classifier has one output per class of the table, and a
// table of unlabelled images is refused.
func TestSupervisedClassesFromTable(t *testing.T) {
	in, out := writeClassTable(t, 8, `["ant","bee","cow"]`, 3, nil), t.TempDir()
	args := []string{in, "--out-dir", out, "--objective", "supervised", "--batch", "4", "--epochs", "1",
		"--warmup-epochs", "0", "--threads", "1", "--max-steps", "1"}
	if err := run(args); err != nil {
		t.Fatal(err)
	}
	ckpt := filepath.Join(out, "supervised_epoch000_step00001.safetensors")
	f, err := safetensors.Load(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	if w := f.Tensors["fc.weight"]; len(w.Shape) != 2 || w.Shape[0] != 3 || w.Shape[1] != 512 {
		t.Errorf("fc.weight shape %v, want [3 512]", w.Shape)
	}
	if !strings.Contains(f.Metadata["config"], `"classes":3`) {
		t.Errorf("config %s lacks the class count", f.Metadata["config"])
	}
	// Resuming on a table of other classes is refused.
	other := writeClassTable(t, 8, `["a","b","c","d"]`, 3, nil) // labels that fit, classes that do not
	if err := run([]string{other, "--out-dir", out, "--resume", ckpt}); err == nil || !strings.Contains(err.Error(), "its classifier has 3 classes") {
		t.Errorf("resume on 4 classes: err = %v", err)
	}
	unlabelled := writeClassTable(t, 8, `["unlabelled"]`, 1, map[string]string{arrowio.MetaLabelled: "false"})
	if err := run(append([]string{unlabelled}, args[1:]...)); err == nil || !strings.Contains(err.Error(), "unlabelled images; the supervised objective needs labels") {
		t.Errorf("unlabelled table: err = %v", err)
	}
}

// Pixels are normalised with the table's channel statistics, which the
// checkpoint's config records for extract.
func TestNormalizationFromTable(t *testing.T) {
	in := writeClassTable(t, 8, `["a","b"]`, 2, map[string]string{
		arrowio.MetaChannelMean: "[0.25,0.5,0.75]", arrowio.MetaChannelStd: "[0.1,0.2,0.3]"})
	out := t.TempDir()
	if err := run([]string{in, "--out-dir", out, "--batch", "4", "--epochs", "1", "--warmup-epochs", "0",
		"--proj-hidden", "16", "--proj-out", "8", "--threads", "1", "--max-steps", "1"}); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Load(filepath.Join(out, "simclr_epoch000_step00001.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg := f.Metadata["config"]; !strings.Contains(cfg, `"mean":[0.25,0.5,0.75],"std":[0.1,0.2,0.3]`) {
		t.Errorf("config %s lacks the table's statistics", cfg)
	}
	bad := writeClassTable(t, 8, `["a","b"]`, 2, map[string]string{arrowio.MetaChannelMean: "[0.25]", arrowio.MetaChannelStd: "[0.1,0.2,0.3]"})
	if err := run([]string{bad, "--out-dir", out, "--batch", "4"}); err == nil || !strings.Contains(err.Error(), "channel_mean") {
		t.Errorf("bad statistics: err = %v", err)
	}
}
