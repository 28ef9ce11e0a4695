package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alecthomas/kong"

	"github.com/simclr-go/simclr/pkg/augment"
	"github.com/simclr-go/simclr/pkg/dirlock"
	"github.com/simclr-go/simclr/tests/toolbin"
)

// Every numeric flag refuses zero, negative, non-finite and absurd values
// with a message naming it, before any work (the output directory is not
// even made).
func TestBadFlags(t *testing.T) {
	in := writeImages(t, 8)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--save-every", "0"}, "--save-every 0: want 1 to 100000"},
		{[]string{"--save-every=-3"}, "--save-every -3"},
		{[]string{"--epochs", "0"}, "--epochs 0: want 1 to 100000"},
		{[]string{"--epochs", "1000000000"}, "--epochs 1000000000"},
		{[]string{"--batch", "1"}, "--batch 1: want 2 to 65536"},
		{[]string{"--batch", "10000000"}, "--batch 10000000"},
		{[]string{"--tau", "0"}, "--tau 0: want above 0"},
		{[]string{"--tau", "NaN"}, "--tau NaN"},
		{[]string{"--lr=-1e-3"}, "--lr -0.001"},
		{[]string{"--lr", "Inf"}, "--lr +Inf"},
		{[]string{"--momentum", "1.5"}, "--momentum 1.5: want 0 to 1"},
		{[]string{"--weight-decay=-1"}, "--weight-decay -1"},
		{[]string{"--warmup-epochs=-1"}, "--warmup-epochs -1"},
		{[]string{"--warmup-epochs", "5", "--epochs", "2"}, "--warmup-epochs 5: want at most --epochs (2)"},
		{[]string{"--proj-hidden", "0"}, "--proj-hidden 0"},
		{[]string{"--proj-out=-8"}, "--proj-out -8"},
		{[]string{"--max-steps=-1"}, "--max-steps -1: want 0 to"},
		{[]string{"--limit=-5"}, "--limit -5: want 0 to"},
		{[]string{"--threads=-1"}, "--threads -1: want 0 to 4096"},
		{[]string{"--threads", "100000"}, "--threads 100000"},
		{[]string{"--hue", "0.9"}, "hue strength 0.9"},
		{[]string{"--flip-p", "2"}, "flip probability 2"},
		{[]string{"--epochs", "0", "--batch", "0"}, "--epochs 0: want 1 to 100000\n--batch 0"},
	} {
		out := filepath.Join(t.TempDir(), "out")
		err := run(append([]string{in, "--out-dir", out}, tc.args...), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one containing %q", tc.args, err, tc.want)
		}
		if _, serr := os.Stat(out); !os.IsNotExist(serr) {
			t.Errorf("%v: the output directory was made", tc.args)
		}
	}
}

// The names the resume check compares are the flags' own.
func TestSettingNames(t *testing.T) {
	var c cli
	p, err := kong.New(&c, defaults(), augment.FlagVars())
	if err != nil {
		t.Fatal(err)
	}
	flags := map[string]bool{}
	for _, f := range p.Model.Flags {
		flags[f.Name] = true
	}
	for _, name := range settingNames {
		if !flags[name] {
			t.Errorf("settingNames has %q, not a flag", name)
		}
	}
	if got, want := len(settings(c.config())), len(settingNames); got != want {
		t.Errorf("settings has %d keys, settingNames %d", got, want)
	}
}

// --resume refuses a flag that contradicts the run's settings, naming it;
// the same values, or none, are accepted.
func TestResumeConflicts(t *testing.T) {
	in, out := writeImages(t, 8), t.TempDir()
	// fp32 explicitly: auto is bf16 on some CPUs.
	if err := run(append(tiny(in, out), "--max-steps", "1", "--precision", "fp32"), io.Discard); err != nil {
		t.Fatal(err)
	}
	step := filepath.Join(out, "simclr_epoch000_step00001.safetensors")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--epochs", "200"}, "--epochs 200 (the run has 1)"},
		{[]string{"--lr", "0.1", "--seed", "3"}, "--lr 0.1 (the run has 0.0003), --seed 3 (the run has 0)"},
		{[]string{"--stem", "cifar"}, "--stem cifar (the run has imagenet)"},
		{[]string{"--no-blur"}, "--blur false (the run has true)"},
		{[]string{"--precision", "bf16"}, "--precision bf16 (the run has fp32)"},
	} {
		err := run(append([]string{in, "--out-dir", out, "--resume", step, "--max-steps", "1"}, tc.args...), io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
	// No settings given, or --precision auto (which the pipelines pass):
	// the run's apply.
	if err := run([]string{in, "--out-dir", out, "--resume", step, "--threads", "1", "--precision", "auto"}, io.Discard); err != nil {
		t.Fatalf("resume without settings: %v", err)
	}
}

// A second pretrain into a directory in use refuses, naming the holder.
func TestOneRunPerDirectory(t *testing.T) {
	in, out := writeImages(t, 8), t.TempDir()
	l, err := dirlock.Acquire(out, "pretrain")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	err = run([]string{in, "--out-dir", out, "--batch", "4", "--epochs", "1", "--warmup-epochs", "0"}, io.Discard)
	want := fmt.Sprintf("in use by another pretrain (PID %d", os.Getpid())
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want one containing %q", err, want)
	}
}

// A killed run's temporary checkpoint is removed at start; other files stay.
func TestRemovesStaleTemporaries(t *testing.T) {
	in, out := writeImages(t, 8), t.TempDir()
	stale := filepath.Join(out, ".simclr_epoch002.safetensors.tmp-1234")
	other := filepath.Join(out, ".notes.txt.tmp-1")
	for _, p := range []string{stale, other} {
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := run(append(tiny(in, out), "--max-steps", "1"), io.Discard); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("%s still there: %v", stale, err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("%s removed: %v", other, err)
	}
	if _, err := os.Stat(filepath.Join(out, ".pretrain.lock")); !os.IsNotExist(err) {
		t.Errorf("lock file left after the run: %v", err)
	}
}

// A checkpoint that cannot be written (here its name is taken by a
// directory; a full disk fails the same way, see safetensors) stops the run
// with a message naming it, keeping the earlier checkpoint and leaving no
// partial file.
func TestSaveFails(t *testing.T) {
	in, out := writeImages(t, 8), t.TempDir()
	if err := run(append(tiny(in, out), "--epochs", "2", "--save-every", "1", "--max-steps", "2"), io.Discard); err != nil {
		t.Fatal(err)
	}
	blocked := filepath.Join(out, "simclr_epoch002.safetensors")
	if err := os.Mkdir(blocked, 0o755); err != nil {
		t.Fatal(err)
	}
	err := run([]string{in, "--out-dir", out, "--threads", "1", "--save-every", "1", "--resume", filepath.Join(out, "simclr_epoch001.safetensors")}, io.Discard)
	want := "checkpoint not saved: write " + blocked
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "checkpoints already in "+out+" are kept") {
		t.Fatalf("error %v, want one containing %q", err, want)
	}
	if _, err := os.Stat(filepath.Join(out, "simclr_epoch001.safetensors")); err != nil {
		t.Errorf("the earlier checkpoint: %v", err)
	}
	if tmps := toolbin.Temporaries(out); len(tmps) != 0 {
		t.Errorf("partial files left: %v", tmps)
	}
}
