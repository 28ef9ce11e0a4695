package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/simclr-go/simclr/pkg/features"
	"github.com/simclr-go/simclr/tests/toolbin"
)

const runMainEnv = "EXTRACT_TEST_RUN_MAIN"

// TestMain runs the command itself when the kill test re-executes the test
// binary.
func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// A real extract process SIGKILLed at random points never leaves a partial
// table at its output path; the next run removes the temporaries the kills
// left and writes the same table as an uninterrupted run.
func TestKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("runs extract a dozen times")
	}
	in, dir := writeImages(t, 48), t.TempDir()
	out := filepath.Join(dir, "f.arrow")
	args := []string{"--random-init", "--threads", "1", "--batch", "8", in, "-o", out}
	start := func() (*exec.Cmd, *bytes.Buffer) {
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = append(os.Environ(), runMainEnv+"=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &stderr
	}
	// The kills land within the shortest of two uninterrupted runs (the
	// first pays for cold caches, and a kill after the end misses).
	var took time.Duration
	for i := range 2 {
		t0 := time.Now()
		cmd, stderr := start()
		if err := cmd.Wait(); err != nil {
			t.Fatalf("%v\n%s", err, stderr)
		}
		if d := time.Since(t0); i == 0 || d < took {
			took = d
		}
	}
	want, err := features.ReadAll(out)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(out)

	r := rand.New(rand.NewPCG(15, 7))
	var kills, cleaned int
	left := map[string]bool{} // a temporary can outlive the next kill, if it lands before the cleanup
	for range 8 {
		cmd, stderr := start()
		time.Sleep(time.Duration(r.Int64N(int64(took) * 4 / 5)))
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		cleaned += strings.Count(stderr.String(), "left by a run that was killed")
		if err == nil { // it finished first: the table is complete
			os.Remove(out)
			continue
		}
		kills++
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Fatalf("a killed extract left %s (%v)", out, err)
		}
		for _, p := range toolbin.Temporaries(dir) {
			left[p] = true
		}
	}
	cmd, stderr := start()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	cleaned += strings.Count(stderr.String(), "left by a run that was killed")
	t.Logf("uninterrupted run %v; %d kills, %d temporaries left by them, %d removed at the next start", took.Round(time.Millisecond), kills, len(left), cleaned)
	// A kill can land between a cleanup's removal and its message, so the
	// messages may be fewer than the temporaries; none may outlive the runs.
	if kills < 4 || (len(left) > 0 && cleaned == 0) || cleaned > len(left) {
		t.Errorf("%d kills, %d temporaries left, %d removals reported: want at least 4 kills and the removals reported", kills, len(left), cleaned)
	}
	for p := range left {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("temporary %s outlived the runs", p)
		}
	}
	got, err := features.ReadAll(out)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.Features, want.Features) || !slices.Equal(got.Index, want.Index) {
		t.Error("the table after the kills differs from the uninterrupted run's")
	}
	if names := toolbin.Names(t, dir); !slices.Equal(names, []string{"f.arrow"}) {
		t.Errorf("left in the output directory: %v, want just f.arrow", names)
	}
}
