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

// tiny is the flags of a run of one epoch of two steps over writeImages(t,
// 8) in a small model: seconds on one core.
func tiny(in, out string) []string {
	return []string{in, "--out-dir", out, "--batch", "4", "--epochs", "1", "--warmup-epochs", "0",
		"--proj-hidden", "16", "--proj-out", "8", "--threads", "1"}
}

// A run stopped by --max-steps leaves a step checkpoint; resuming from it
// completes the run, whose final checkpoint, log and loss curve appear.
func TestStopAndResume(t *testing.T) {
	in, out := writeImages(t, 8), t.TempDir()
	small := tiny(in, out)
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
