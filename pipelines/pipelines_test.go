// Package pipelines holds the tests of the shell pipelines beside them.
package pipelines

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// from names, for each setting whose default is a tool's, the tool and its
// --print-defaults name.
var from = map[string][2]string{
	"EPOCHS": {"pretrain", "EPOCHS"}, "BATCH": {"pretrain", "BATCH"}, "LR": {"pretrain", "LR"},
	"WARMUP_EPOCHS": {"pretrain", "WARMUP_EPOCHS"}, "TAU": {"pretrain", "TAU"}, "STEM": {"pretrain", "STEM"},
	"SEED": {"pretrain", "SEED"}, "LIMIT": {"pretrain", "LIMIT"}, "MAX_STEPS": {"pretrain", "MAX_STEPS"},
	"SAVE_EVERY": {"pretrain", "SAVE_EVERY"}, "PROBE_EPOCHS": {"linprobe", "EPOCHS"},
}

// toolDefaults returns what `go run ./cmd/TOOL --print-defaults` says of
// each setting of from, as the pipelines read it.
func toolDefaults(t *testing.T) map[string]string {
	t.Helper()
	printed := printedDefaults(t)
	defaults := map[string]string{}
	for name, src := range from {
		v, ok := printed[src[0]][src[1]]
		if !ok {
			t.Fatalf("%s --print-defaults has no %s", src[0], src[1])
		}
		defaults[name] = v
	}
	return defaults
}

// printedDefaults returns, for pretrain and linprobe, what `go run
// ./cmd/TOOL --print-defaults` prints: NAME -> value.
func printedDefaults(t *testing.T) map[string]map[string]string {
	t.Helper()
	for _, tool := range []string{"bash", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s: %v", tool, err)
		}
	}
	consult(t)
	printed := map[string]map[string]string{}
	for _, tool := range []string{"pretrain", "linprobe"} {
		cmd := exec.Command("go", "run", "./cmd/"+tool, "--print-defaults")
		cmd.Dir = ".."
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go run ./cmd/%s --print-defaults: %v", tool, err)
		}
		printed[tool] = map[string]string{}
		for _, line := range strings.Fields(string(out)) {
			name, value, _ := strings.Cut(line, "=")
			printed[tool][name] = value
		}
	}
	return printed
}

// shownDefaults returns the settings pipeline's --help lists, NAME ->
// default.
func shownDefaults(t *testing.T, pipeline string) map[string]string {
	t.Helper()
	if msg, err := exec.Command("bash", "-n", pipeline).CombinedOutput(); err != nil {
		t.Fatalf("bash -n %s: %v\n%s", pipeline, err, msg)
	}
	help, err := exec.Command("bash", pipeline, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --help: %v\n%s", pipeline, err, help)
	}
	// --flag   NAME   help (default: VALUE)
	setting := regexp.MustCompile(`(?m)^  --[a-z0-9-]+ +([A-Z0-9_]+) .*\(default: (.*)\)$`)
	shown := map[string]string{}
	for _, m := range setting.FindAllStringSubmatch(string(help), -1) {
		shown[m[1]] = m[2]
	}
	return shown
}

// The pipelines take these defaults from the tools, and their --help shows
// them.
func TestDefaultsFromTheTools(t *testing.T) {
	defaults := toolDefaults(t)
	for _, tc := range []struct {
		pipeline string
		without  string // a setting of from that it does not have
	}{{"simclr-cifar10.sh", ""}, {"baselines.sh", "TAU"}} {
		shown := shownDefaults(t, tc.pipeline)
		for name, want := range defaults {
			if v, ok := shown[name]; name != tc.without && (!ok || v != want) {
				t.Errorf("%s --help: %s default %q, want %s's %q", tc.pipeline, name, v, from[name][0], want)
			}
		}
	}
}

// Every pretraining setting of the recipe (all of pretrain's defaults but
// its file names, objective and monitor) is a setting of the main
// pipeline, with pretrain's default.
func TestRecipeSettings(t *testing.T) {
	shown := shownDefaults(t, "simclr-cifar10.sh")
	for name, want := range printedDefaults(t)["pretrain"] {
		if name == "OUT_DIR" || name == "OBJECTIVE" || strings.HasPrefix(name, "MONITOR_") {
			continue
		}
		if v, ok := shown[name]; !ok || v != want {
			t.Errorf("simclr-cifar10.sh --help: %s default %q, want pretrain's %q", name, v, want)
		}
	}
}

// The README's table of simclr-cifar10.sh's settings gives the tools'
// defaults.
func TestReadmeDefaults(t *testing.T) {
	defaults := toolDefaults(t)
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	// | `--flag` | `NAME` | default, perhaps `quoted`, perhaps (explained) | meaning |
	row := regexp.MustCompile("(?m)^\\| `--[a-z0-9-]+`[^|]* \\| `([A-Z0-9_]+)` \\| `?([^ `|]+)`?[^|]* \\|")
	seen := map[string]bool{}
	for _, m := range row.FindAllStringSubmatch(string(readme), -1) {
		want, ok := defaults[m[1]]
		if !ok {
			continue // not a tool's default
		}
		seen[m[1]] = true
		if m[2] != want {
			t.Errorf("README: %s defaults to %s, but %s's default is %s", m[1], m[2], from[m[1]][0], want)
		}
	}
	for name := range defaults {
		if !seen[name] {
			t.Errorf("README: no row for %s in the table of settings", name)
		}
	}
}

// consult reads what the pipelines and `go run` read in the child
// processes: the scripts and the Go sources. go test caches a result by the
// files the test itself opens, so without this a change to a default would
// leave a stale pass in the cache.
func consult(t *testing.T) {
	t.Helper()
	paths, err := filepath.Glob("*.sh")
	if err != nil {
		t.Fatal(err)
	}
	paths = append(paths, "../go.mod", "../go.sum")
	for _, dir := range []string{"../cmd", "../pkg"} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
				paths = append(paths, path)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range paths {
		if _, err := os.ReadFile(p); err != nil {
			t.Fatal(err)
		}
	}
}

// fast.sh runs the main pipeline with its recipe's settings, which its
// --help marks "here"; the environment still overrides them.
func TestFastRecipe(t *testing.T) {
	for _, tc := range []struct {
		env  []string
		want map[string]string // NAME -> the value shown as "here" ("": not marked)
	}{
		{nil, map[string]string{"STEM": "cifar-pool", "BUDGET": "3h", "WARMUP_EPOCHS": "2", "OPTIMIZER": "sgd", "LR": "0.06",
			"WEIGHT_DECAY": "5e-4", "PROJ_HIDDEN": "1024", "PROJ_OUT": "128", "CROP_SCALE_MIN": "0.2",
			"BLUR": "false", "GRAY_P": "0.1"}},
		{[]string{"BUDGET=", "EPOCHS=40", "STEM=imagenet"}, map[string]string{"BUDGET": "", "EPOCHS": "40", "OPTIMIZER": "sgd"}},
	} {
		cmd := exec.Command("bash", "fast.sh", "--help")
		cmd.Env = append(os.Environ(), tc.env...)
		help, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v fast.sh --help: %v\n%s", tc.env, err, help)
		}
		here := map[string]string{}
		for _, m := range regexp.MustCompile(`(?m)^  --[a-z0-9-]+ +([A-Z0-9_]+) .*; here: (.*)\)$`).FindAllStringSubmatch(string(help), -1) {
			here[m[1]] = m[2]
		}
		for name, want := range tc.want {
			if here[name] != want {
				t.Errorf("%v fast.sh --help: %s here %q, want %q", tc.env, name, here[name], want)
			}
		}
		if _, ok := here["TAU"]; ok {
			t.Errorf("%v fast.sh --help: TAU is the main pipeline's, but is marked here %q", tc.env, here["TAU"])
		}
	}
}
