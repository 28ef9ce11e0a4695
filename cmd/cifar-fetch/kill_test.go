package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
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
	took := toolbin.Quickest(t, func() error {
		if out, err := command(t, sums, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("%v\n%s", err, out)
		}
		return nil
	})
	r := rand.New(rand.NewPCG(15, 8))
	var kills toolbin.Kills
	for range 8 {
		for _, name := range []string{"train.arrow", "test.arrow"} {
			os.Remove(filepath.Join(dir, name))
		}
		cmd := command(t, sums, args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		t0 := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(r.Int64N(int64(took) * 4 / 5)))
		cmd.Process.Signal(syscall.SIGKILL)
		err := cmd.Wait()
		kills.Reported(stderr.String())
		if err != nil {
			kills.Killed(dir)
		} else { // it finished first: runs are quicker now
			took = min(took, time.Since(t0))
		}
		// Whatever is there under a table's name is whole.
		for name, split := range map[string]cifar.Split{"train.arrow": cifar.Train, "test.arrow": cifar.Test} {
			if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
				check(filepath.Join(dir, name), split)
			}
		}
	}
	cmd := command(t, sums, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	kills.Reported(stderr.String())
	kills.Check(t, took)
	check(filepath.Join(dir, "train.arrow"), cifar.Train)
	check(filepath.Join(dir, "test.arrow"), cifar.Test)
	if names := toolbin.Names(t, dir); !slices.Equal(names, []string{"test.arrow", "train.arrow"}) {
		t.Errorf("left in the output directory: %v, want just the two tables", names)
	}
}
