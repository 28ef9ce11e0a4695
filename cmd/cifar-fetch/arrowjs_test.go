package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// moduleRoot finds the directory holding go.mod, above the test's directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
}

// checkWithArrowJS has Apache Arrow JS, an Arrow implementation independent
// of ours, read the image table at path (tests/arrowjs/check.mjs). It skips
// when node or the npm package is missing, except under CI (.ci/run installs
// the package), where a skip would hide that the check never ran.
func checkWithArrowJS(t *testing.T, path string, rows int, split string) {
	t.Helper()
	dir := filepath.Join(moduleRoot(t), "tests", "arrowjs")
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "node_modules", "apache-arrow"))
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Arrow JS check cannot run under CI: %v", err)
		}
		t.Skipf("Arrow JS check skipped (run npm ci in tests/arrowjs): %v", err)
	}
	b, _ := readTable(t, path)
	image0 := make([]int, 16)
	for i := range image0 {
		image0[i] = int(b.Pixels[i])
	}
	labels := make([]int, min(10, b.Len()))
	for i := range labels {
		labels[i] = int(b.Label[i])
	}
	want, _ := json.Marshal(map[string]any{"rows": rows, "split": split, "labels": labels, "image0": image0})
	out, err := exec.Command(node, filepath.Join(dir, "check.mjs"), path, string(want)).CombinedOutput()
	if err != nil {
		t.Fatalf("Arrow JS check failed: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
