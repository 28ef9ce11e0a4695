package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/simclr-go/simclr/pkg/cifar"
	"github.com/simclr-go/simclr/pkg/cifar/cifartest"
	"github.com/simclr-go/simclr/tests/toolbin"
)

// A real cifar-fetch process SIGKILLed at random points never leaves a
// partial table under a table's name (a table present is complete); the
// next run removes the temporaries the kills left and writes both tables.
func TestKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("converts an archive a dozen times")
	}
	const per = 400 // records per member: 2,000 training images
	ms := cifartest.Members(per)
	sums := cifartest.Sums(ms)
	src, dir := writeArchive(t, cifartest.Archive(ms...)), t.TempDir()
	args := []string{"--archive", src, "--out-dir", dir, "--force"}
	check := func(path string, split cifar.Split) {
		t.Helper()
		b, _ := readTable(t, path)
		if want := map[cifar.Split]int{cifar.Train: 5 * per, cifar.Test: per}[split]; b.Len() != want {
			t.Fatalf("%s: %d rows, want %d", path, b.Len(), want)
		}
	}
	// The kills land within the shortest of two uninterrupted runs (the
	// first pays for cold caches, and a kill after the end misses).
	var took time.Duration
	for i := range 2 {
		t0 := time.Now()
		if out, err := command(t, sums, args...).CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if d := time.Since(t0); i == 0 || d < took {
			took = d
		}
	}
	r := rand.New(rand.NewPCG(15, 8))
	var kills, cleaned int
	left := map[string]bool{}
	for range 8 {
		for _, name := range []string{"train.arrow", "test.arrow"} {
			os.Remove(filepath.Join(dir, name))
		}
		cmd := command(t, sums, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(r.Int64N(int64(took) * 4 / 5)))
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		cleaned += strings.Count(stderr.String(), "left by a run that was killed")
		if err != nil {
			kills++
		}
		// Whatever is there under a table's name is whole.
		for name, split := range map[string]cifar.Split{"train.arrow": cifar.Train, "test.arrow": cifar.Test} {
			if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
				check(filepath.Join(dir, name), split)
			}
		}
		tmps := toolbin.Temporaries(dir)
		for _, p := range tmps {
			left[p] = true
		}
	}
	cmd := command(t, sums, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
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
	check(filepath.Join(dir, "train.arrow"), cifar.Train)
	check(filepath.Join(dir, "test.arrow"), cifar.Test)
	if names := toolbin.Names(t, dir); !slices.Equal(names, []string{"test.arrow", "train.arrow"}) {
		t.Errorf("left in the output directory: %v, want just the two tables", names)
	}
}
