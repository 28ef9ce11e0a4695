package main

import (
	"bytes"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/simclr-go/simclr/pkg/arrowio"
	"github.com/simclr-go/simclr/pkg/cifar/cifartest"
	"github.com/simclr-go/simclr/pkg/safetensors"
	"github.com/simclr-go/simclr/pkg/train"
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
	if err := run(append(small, "--max-steps", "1"), io.Discard); err != nil {
		t.Fatal(err)
	}
	step := filepath.Join(out, "simclr_epoch000_step00001.safetensors")
	if err := run(append(small, "--resume", step), io.Discard); err != nil {
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
		err := run(args, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

// The flags' defaults are the reference recipe, train.DefaultConfig, and
// --print-defaults prints them in a form that means the same as flags.
func TestDefaults(t *testing.T) {
	c, err := parse(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.config(), train.DefaultConfig(); !reflect.DeepEqual(got, want) {
		t.Errorf("the flags' defaults are\n%+v, want train.DefaultConfig\n%+v", got, want)
	}

	var out bytes.Buffer
	if err := run([]string{"--print-defaults"}, &out); err != nil {
		t.Fatal(err)
	}
	want := train.DefaultConfig()
	printed := map[string]string{}
	var flags []string
	for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		name, value, ok := strings.Cut(line, "=")
		if !ok || name != strings.ToUpper(name) || strings.ContainsAny(value, `'" $`) {
			t.Fatalf("line %q: want NAME=value, a plain shell word", line)
		}
		printed[name] = value
		flags = append(flags, "--"+strings.ToLower(strings.ReplaceAll(name, "_", "-"))+"="+value)
	}
	for name, v := range map[string]string{
		"OBJECTIVE": want.Objective, "STEM": want.Stem, "EPOCHS": strconv.Itoa(want.Epochs), "BATCH": strconv.Itoa(want.Batch),
		"LR": formatFloat(want.LR), "TAU": formatFloat(want.Tau), "WARMUP_EPOCHS": strconv.Itoa(want.WarmupEpochs),
		"SEED": strconv.FormatUint(want.Seed, 10),
	} {
		if printed[name] != v {
			t.Errorf("--print-defaults: %s=%q, want %q", name, printed[name], v)
		}
	}
	for _, name := range []string{"HELP", "PRINT_DEFAULTS", "RESUME", "BF16"} {
		if v, ok := printed[name]; ok {
			t.Errorf("--print-defaults prints %s=%s, a flag without a default", name, v)
		}
	}
	// Given back as flags, the printed values are the defaults, those of
	// the flags outside train.Config (--save-every, --limit...) too.
	given, err := parse(flags, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	given.set, c.set = nil, nil // which flags were given differs, of course
	if !reflect.DeepEqual(*given, *c) {
		t.Errorf("%v gives\n%+v, want the defaults\n%+v", flags, *given, *c)
	}
}

func TestFormatFloat(t *testing.T) {
	for v, want := range map[float32]string{3e-4: "3e-4", 0.5: "0.5", 0: "0", 0.9: "0.9", 1e6: "1e6", 12: "12", 1.5e-5: "1.5e-5"} {
		if got := formatFloat(v); got != want {
			t.Errorf("formatFloat(%g) = %q, want %q", v, got, want)
		}
	}
}

// --monitor logs a kNN accuracy after every epoch and draws it below the
// loss, and the run ends with the same checkpoint as without it, tensor for
// tensor and bit for bit.
func TestMonitor(t *testing.T) {
	in, queries := writeImages(t, 8), writeImages(t, 6)
	small := []string{in, "--batch", "4", "--epochs", "2", "--warmup-epochs", "0",
		"--proj-hidden", "16", "--proj-out", "8", "--threads", "1"}
	plain, monitored := t.TempDir(), t.TempDir()
	if err := run(append(small, "--out-dir", plain), io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := run(append(small, "--out-dir", monitored, "--monitor", queries, "--monitor-k", "3", "--monitor-bank", "5"), io.Discard); err != nil {
		t.Fatal(err)
	}
	recs, err := train.ReadMonitorLog(filepath.Join(monitored, "log.jsonl"), -1)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 || recs[0].Epoch != 0 || recs[1].Epoch != 1 || recs[2].Epoch != 2 || recs[2].Queries != 6 || recs[2].Bank != 5 || recs[2].K != 3 {
		t.Errorf("monitor records %+v, want epochs 0 (the initial encoder), 1 and 2 of 6 queries, 5 bank images, k 3", recs)
	}
	f, err := os.Open(filepath.Join(monitored, "loss.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if cfg, err := png.DecodeConfig(f); err != nil || cfg.Height <= cfg.Width {
		t.Errorf("loss.png %dx%d (%v), want the two panels, taller than wide", cfg.Width, cfg.Height, err)
	}
	a, err := safetensors.Load(filepath.Join(plain, "simclr_epoch002.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := safetensors.Load(filepath.Join(monitored, "simclr_epoch002.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Tensors) != len(b.Tensors) {
		t.Fatalf("%d tensors without the monitor, %d with", len(a.Tensors), len(b.Tensors))
	}
	for i, ta := range a.Tensors {
		if tb := b.Tensors[i]; ta.Name != tb.Name || !bytes.Equal(ta.Data, tb.Data) {
			t.Errorf("tensor %s differs with the monitor", ta.Name)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--monitor", queries, "--monitor-k", "9"}, "monitor k = 9"},
		{[]string{"--monitor", queries, "--monitor-every", "0"}, "every 0"},
		{[]string{"--monitor", filepath.Join(t.TempDir(), "nope.arrow")}, "nope.arrow"},
	} {
		err := run(append(append(small, "--out-dir", t.TempDir()), tc.args...), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one containing %q", tc.args, err, tc.want)
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
	if err := run(args, io.Discard); err != nil {
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
	if err := run([]string{other, "--out-dir", out, "--resume", ckpt}, io.Discard); err == nil || !strings.Contains(err.Error(), "its classifier has 3 classes") {
		t.Errorf("resume on 4 classes: err = %v", err)
	}
	unlabelled := writeClassTable(t, 8, `["unlabelled"]`, 1, map[string]string{arrowio.MetaLabelled: "false"})
	if err := run(append([]string{unlabelled}, args[1:]...), io.Discard); err == nil || !strings.Contains(err.Error(), "unlabelled images; the supervised objective needs labels") {
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
		"--proj-hidden", "16", "--proj-out", "8", "--threads", "1", "--max-steps", "1"}, io.Discard); err != nil {
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
	if err := run([]string{bad, "--out-dir", out, "--batch", "4"}, io.Discard); err == nil || !strings.Contains(err.Error(), "channel_mean") {
		t.Errorf("bad statistics: err = %v", err)
	}
}
