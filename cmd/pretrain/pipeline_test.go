package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The pipelines take their pretraining defaults from --print-defaults, and
// their --help shows them.
func TestPipelineDefaults(t *testing.T) {
	for _, tool := range []string{"bash", "go"} { // the pipeline reads the defaults with go run
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s: %v", tool, err)
		}
	}
	defaults := printedDefaults(t)
	// --flag   NAME   help (default: VALUE)
	setting := regexp.MustCompile(`(?m)^  --[a-z0-9-]+ +([A-Z0-9_]+) .*\(default: (.*)\)$`)
	for _, tc := range []struct {
		pipeline string
		want     []string // settings that must be pretrain's
	}{
		{"simclr-cifar10.sh", []string{"EPOCHS", "BATCH", "LR", "WARMUP_EPOCHS", "TAU", "STEM", "SEED", "LIMIT", "MAX_STEPS", "SAVE_EVERY"}},
		{"baselines.sh", []string{"EPOCHS", "BATCH", "LR", "WARMUP_EPOCHS", "STEM", "SEED", "LIMIT", "MAX_STEPS", "SAVE_EVERY"}},
	} {
		script := filepath.Join("..", "..", "pipelines", tc.pipeline)
		if msg, err := exec.Command("bash", "-n", script).CombinedOutput(); err != nil {
			t.Errorf("bash -n %s: %v\n%s", tc.pipeline, err, msg)
			continue
		}
		help, err := exec.Command("bash", script, "--help").CombinedOutput()
		if err != nil {
			t.Errorf("%s --help: %v\n%s", tc.pipeline, err, help)
			continue
		}
		shown := map[string]string{}
		for _, m := range setting.FindAllStringSubmatch(string(help), -1) {
			shown[m[1]] = m[2]
		}
		for _, name := range tc.want {
			if v, ok := shown[name]; !ok || v != defaults[name] {
				t.Errorf("%s --help: %s default %q, want pretrain's %q\n%s", tc.pipeline, name, v, defaults[name], help)
			}
		}
	}
}

// printedDefaults is what --print-defaults prints, by name.
func printedDefaults(t *testing.T) map[string]string {
	t.Helper()
	var out bytes.Buffer
	if err := run([]string{"--print-defaults"}, &out); err != nil {
		t.Fatal(err)
	}
	defaults := map[string]string{}
	for _, line := range strings.Fields(out.String()) {
		name, value, _ := strings.Cut(line, "=")
		defaults[name] = value
	}
	return defaults
}

// The README's table of the pipeline's settings gives pretrain's defaults.
func TestReadmeDefaults(t *testing.T) {
	defaults := printedDefaults(t)
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	// | `--flag` | `NAME` | default, perhaps `quoted`, perhaps (explained) | meaning |
	row := regexp.MustCompile("(?m)^\\| `--[a-z0-9-]+`[^|]* \\| `([A-Z0-9_]+)` \\| `?([^ `|]+)`?[^|]* \\|")
	seen := 0
	for _, m := range row.FindAllStringSubmatch(string(readme), -1) {
		want, ok := defaults[m[1]]
		if !ok {
			continue // not a pretraining setting
		}
		seen++
		if m[2] != want {
			t.Errorf("README: %s defaults to %s, but pretrain's default is %s", m[1], m[2], want)
		}
	}
	if seen < 10 {
		t.Errorf("README: %d rows of pretraining settings found, want the 10 of simclr-cifar10.sh", seen)
	}
}
