// Package toolbin builds the project's commands for tests that run them as
// a user would, one after another on each other's files.
package toolbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/simclr-go/simclr/pkg/arrowio/arrowiotest"
	"github.com/simclr-go/simclr/pkg/atomicfile"
)

var (
	dir  string
	err  error
	once sync.Once
)

// Build builds every command under cmd/ once per test binary, into a
// temporary directory that Clean removes, and returns that directory.
func Build(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		// go test caches a passing result by the files the test itself
		// opens; reading the sources the tools are built from makes a
		// change to them run the test again.
		root := arrowiotest.ModuleRoot(t)
		for _, d := range []string{"cmd", "pkg"} {
			filepath.WalkDir(filepath.Join(root, d), func(path string, e os.DirEntry, werr error) error {
				if werr == nil && !e.IsDir() && strings.HasSuffix(path, ".go") {
					os.ReadFile(path)
				}
				return nil
			})
		}
		if dir, err = os.MkdirTemp("", "toolbin"); err != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", dir+string(filepath.Separator), "./cmd/...")
		cmd.Dir = root
		if out, berr := cmd.CombinedOutput(); berr != nil {
			err = fmt.Errorf("go build: %v\n%s", berr, out)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// Clean removes what Build made; call it from TestMain after m.Run.
func Clean() {
	if dir != "" {
		os.RemoveAll(dir)
	}
}

// Run runs tool name from Build's directory with args, failing the test
// with its output if it fails, and returns that output.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, rerr := exec.Command(filepath.Join(Build(t), name), args...).CombinedOutput()
	if rerr != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, rerr, out)
	}
	return string(out)
}

// Names lists the entries of dir, sorted (none if it does not exist): what
// a run left behind.
func Names(t testing.TB, dir string) []string {
	t.Helper()
	des, rerr := os.ReadDir(dir)
	if rerr != nil && !os.IsNotExist(rerr) {
		t.Fatal(rerr)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

// Temporaries lists the atomicfile temporaries in dir.
func Temporaries(dir string) []string {
	names, _ := filepath.Glob(filepath.Join(dir, atomicfile.TempPattern("*")))
	return names
}

// Quickest runs run twice and returns the shorter wall time: a kill test
// aims its kills within it, since the first run pays for cold caches and a
// kill after the end misses.
func Quickest(t testing.TB, run func() error) time.Duration {
	t.Helper()
	var took time.Duration
	for i := range 2 {
		t0 := time.Now()
		if err := run(); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(t0); i == 0 || d < took {
			took = d
		}
	}
	return took
}

// Kills tallies a kill test: the runs killed, the temporaries they left
// and the removals of them that later runs reported.
type Kills struct {
	N       int
	Left    map[string]bool
	Cleaned int
}

// Killed counts a killed run and notes the temporaries it left in dir (a
// temporary can outlive the next kill too, if that lands before the
// cleanup).
func (k *Kills) Killed(dir string) {
	k.N++
	if k.Left == nil {
		k.Left = map[string]bool{}
	}
	for _, p := range Temporaries(dir) {
		k.Left[p] = true
	}
}

// Reported counts the removals a run's standard error reports.
func (k *Kills) Reported(stderr string) {
	k.Cleaned += strings.Count(stderr, "left by a run that was killed")
}

// Check logs the tally beside took, the uninterrupted run's time, and fails
// t unless at least 4 runs were killed, the temporaries' removal was
// reported and none outlived the runs. A kill can land between a removal
// and its message, so the messages may be fewer than the temporaries.
func (k *Kills) Check(t testing.TB, took time.Duration) {
	t.Helper()
	t.Logf("uninterrupted run %v; %d kills, %d temporaries left by them, %d removed at the next start", took.Round(time.Millisecond), k.N, len(k.Left), k.Cleaned)
	if k.N < 4 || (len(k.Left) > 0 && k.Cleaned == 0) || k.Cleaned > len(k.Left) {
		t.Errorf("%d kills, %d temporaries left, %d removals reported: want at least 4 kills and the removals reported", k.N, len(k.Left), k.Cleaned)
	}
	for p := range k.Left {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("temporary %s outlived the runs", p)
		}
	}
}
