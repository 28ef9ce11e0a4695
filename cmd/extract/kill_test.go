package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
// table at its output path (a kill after the rename leaves the whole one);
// the next run removes the temporaries the kills left and writes the same
// table as an uninterrupted run.
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
	took := toolbin.Quickest(t, func() error {
		cmd, stderr := start()
		if err := cmd.Wait(); err != nil {
			return fmt.Errorf("%v\n%s", err, stderr)
		}
		return nil
	})
	want, err := features.ReadAll(out)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(out)

	r := rand.New(rand.NewPCG(15, 7))
	var kills toolbin.Kills
	for range 8 {
		t0 := time.Now()
		cmd, stderr := start()
		time.Sleep(time.Duration(r.Int64N(int64(took) * 4 / 5)))
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		kills.Reported(stderr.String())
		if err == nil { // it finished first: the table is complete, and runs are quicker now
			took = min(took, time.Since(t0))
			os.Remove(out)
			continue
		}
		kills.Killed(dir)
		// A kill after the rename finds the table whole: whatever is
		// there under its name is the uninterrupted run's table.
		if _, err := os.Stat(out); err == nil {
			got, err := features.ReadAll(out)
			if err != nil {
				t.Fatalf("a killed extract left %s unreadable: %v", out, err)
			}
			if !slices.Equal(got.Features, want.Features) || !slices.Equal(got.Index, want.Index) {
				t.Fatalf("a killed extract left %s, not the uninterrupted run's table", out)
			}
			os.Remove(out)
		}
	}
	cmd, stderr := start()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	kills.Reported(stderr.String())
	kills.Check(t, took)
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
