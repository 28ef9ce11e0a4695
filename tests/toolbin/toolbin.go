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
