// Package arrowiotest encodes arbitrary Arrow records as IPC, so that tests
// can feed the table readers what their writers refuse to make. It does not
// import arrowio, so arrowio's own tests can use it.
package arrowiotest

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/ipc"
)

// Stream returns rec as an Arrow IPC stream.
func Stream(t testing.TB, rec arrow.Record) []byte {
	t.Helper()
	var buf bytes.Buffer
	write(t, ipc.NewWriter(&buf, ipc.WithSchema(rec.Schema())), rec)
	return buf.Bytes()
}

// File returns rec as an Arrow IPC file.
func File(t testing.TB, rec arrow.Record) []byte {
	t.Helper()
	// The IPC file writer seeks, so it goes through a real file.
	f, err := os.CreateTemp(t.TempDir(), "raw")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := ipc.NewFileWriter(f, ipc.WithSchema(rec.Schema()))
	if err != nil {
		t.Fatal(err)
	}
	write(t, w, rec)
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func write(t testing.TB, w interface {
	Write(arrow.Record) error
	Close() error
}, rec arrow.Record) {
	t.Helper()
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// Pipe hides every method of r but Read, as a pipe would, so that readers
// take the path of non-seekable input.
func Pipe(r io.Reader) io.Reader { return pipe{r} }

type pipe struct{ io.Reader }

// ArrowJS runs tests/arrowjs/SCRIPT under node with args: Apache Arrow JS,
// an implementation independent of ours, reading our tables. It skips when
// node or the npm package is missing, except under CI (.ci/run installs the
// package), where a skip would hide that the check never ran. It returns
// the script's output and fails the test when the script does.
func ArrowJS(t testing.TB, script string, args ...string) string {
	t.Helper()
	return nodeCheck(t, "Arrow JS", "arrowjs", "apache-arrow", script, args)
}

// Polars runs tests/polars/SCRIPT under node with args: nodejs-polars
// reading our tables, as ArrowJS does with Apache Arrow JS.
func Polars(t testing.TB, script string, args ...string) string {
	t.Helper()
	return nodeCheck(t, "Polars", "polars", "nodejs-polars", script, args)
}

// PolarsTable has tests/polars/check.mjs read the table at path and compare
// it with want (see the script for its keys; "columns" is a list of
// [name, dtype] pairs, since a Go map would lose their order).
func PolarsTable(t testing.TB, path string, want map[string]any) string {
	t.Helper()
	js, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	return Polars(t, "check.mjs", path, string(js))
}

// nodeCheck runs tests/DIR/SCRIPT under node, where npm package pkg must be installed.
func nodeCheck(t testing.TB, what, dir, pkg, script string, args []string) string {
	t.Helper()
	dir = filepath.Join(ModuleRoot(t), "tests", dir)
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "node_modules", pkg))
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s check cannot run under CI: %v", what, err)
		}
		t.Skipf("%s check skipped (run npm ci in %s): %v", what, dir, err)
	}
	out, err := exec.Command(node, append([]string{filepath.Join(dir, script)}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s check %s failed: %v\n%s", what, script, err, out)
	}
	return string(out)
}

// ModuleRoot is the directory holding go.mod, above the test's directory.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = filepath.Dir(dir)
	}
}
