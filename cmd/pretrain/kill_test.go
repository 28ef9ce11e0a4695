package main

import (
	"bytes"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/simclr-go/simclr/pkg/safetensors"
	"github.com/simclr-go/simclr/tests/toolbin"
)

const runMainEnv = "PRETRAIN_TEST_RUN_MAIN"

// TestMain runs the command itself when the kill test re-executes the test
// binary.
func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Kill points of killedRun.
const (
	midSave  = iota // as soon as a checkpoint's temporary file appears, plus up to 50 ms
	midEpoch        // up to 0.3 s after a new checkpoint is in place: in the next epoch
	never           // let it finish
)

// killedRun starts pretrain with args and SIGKILLs it at the point when
// says. It reports whether the kill landed (the process had not finished)
// and the process's stderr.
func killedRun(t *testing.T, dir string, args []string, when int, r *rand.Rand) (bool, string) {
	t.Helper()
	before := newest(dir)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	kill := func(after time.Duration) (bool, string) {
		select {
		case err := <-exited: // it finished first
			if err != nil {
				t.Fatalf("pretrain %v failed: %v\n%s", args, err, stderr.String())
			}
			return false, stderr.String()
		case <-time.After(after):
		}
		cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		return true, stderr.String()
	}
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("pretrain %v failed: %v\n%s", args, err, stderr.String())
			}
			return false, stderr.String()
		case <-tick.C:
			switch {
			case when == midSave && len(toolbin.Temporaries(dir)) > 0:
				return kill(time.Duration(r.IntN(50)) * time.Millisecond)
			case when == midEpoch && newest(dir) != before:
				return kill(time.Duration(r.IntN(300)) * time.Millisecond)
			}
		}
	}
}

// newest is the latest checkpoint in dir ("" if none): names sort in
// training order.
func newest(dir string) string {
	names, _ := filepath.Glob(filepath.Join(dir, "simclr_epoch*.safetensors"))
	if len(names) == 0 {
		return ""
	}
	slices.Sort(names)
	return names[len(names)-1]
}

func checkpoints(dir string) []string {
	names, _ := filepath.Glob(filepath.Join(dir, "simclr_epoch*.safetensors"))
	return names
}

// A real pretrain process SIGKILLed again and again, mid-epoch and
// mid-save, and resumed each time from its newest checkpoint, ends with a
// final checkpoint bit-identical to an uninterrupted run's, and nothing
// else left behind: no temporary, no lock file.
func TestKilledAndResumedIsExact(t *testing.T) {
	if testing.Short() {
		t.Skip("runs pretrain a dozen times")
	}
	in := writeImages(t, 12) // 3 steps an epoch
	ref, out := t.TempDir(), t.TempDir()
	settings := []string{"--epochs", "3", "--save-every", "1"}
	if err := run(append(tiny(in, ref), settings...), io.Discard); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(15, 2026))
	var kills, saves, resumes, left, cleaned int
	for attempt := 0; ; attempt++ {
		args := append(tiny(in, out), settings...)
		ck0 := newest(out)
		if ck0 != "" {
			args = []string{in, "--out-dir", out, "--threads", "1", "--save-every", "1", "--resume", ck0}
			resumes++
		}
		when := []int{midSave, midEpoch}[attempt%2]
		if attempt >= 10 {
			when = never
		}
		landed, stderr := killedRun(t, out, args, when, r)
		cleaned += strings.Count(stderr, "left by a run that was killed")
		tmp := len(toolbin.Temporaries(out))
		left += tmp
		t.Logf("run %d (from %s), kill point %d: killed %v; %d checkpoints, %d temporaries left", attempt, filepath.Base(ck0), when, landed, len(checkpoints(out)), tmp)
		if !landed {
			break
		}
		kills++
		if when == midSave {
			saves++
		}
	}
	t.Logf("%d kills (%d mid-save, %d mid-epoch), %d resumes, %d temporaries left by kills, %d removed at the next start", kills, saves, kills-saves, resumes, left, cleaned)
	if kills < 4 || saves < 2 || resumes < 3 || left < 1 || cleaned != left {
		t.Fatalf("%d kills, %d mid-save, %d resumes, %d temporaries left, %d removed: want at least 4, 2, 3 and 1, and every one removed", kills, saves, resumes, left, cleaned)
	}

	final := "simclr_epoch003.safetensors"
	want, err := safetensors.Load(filepath.Join(ref, final))
	if err != nil {
		t.Fatal(err)
	}
	got, err := safetensors.Load(filepath.Join(out, final))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Tensors) != len(want.Tensors) {
		t.Fatalf("%d tensors, want %d", len(got.Tensors), len(want.Tensors))
	}
	for _, name := range slices.Sorted(maps.Keys(want.Tensors)) {
		w, g := want.Tensors[name], got.Tensors[name]
		if g.DType != w.DType || !slices.Equal(g.Shape, w.Shape) || !bytes.Equal(g.Data, w.Data) {
			t.Errorf("tensor %s differs from the uninterrupted run's", name)
		}
	}
	for k, v := range want.Metadata {
		if k != "train_seconds" && got.Metadata[k] != v {
			t.Errorf("metadata %s = %q, want %q", k, got.Metadata[k], v)
		}
	}
	t.Logf("%d tensors compared, bit for bit", len(want.Tensors))
	if names, wantNames := toolbin.Names(t, out), toolbin.Names(t, ref); !slices.Equal(names, wantNames) {
		t.Errorf("left in the output directory: %v, want what the uninterrupted run left: %v", names, wantNames)
	}
}
