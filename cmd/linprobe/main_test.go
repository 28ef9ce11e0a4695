package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simclr-go/simclr/pkg/features"
	"github.com/simclr-go/simclr/pkg/linprobe"
)

// writeTable writes a feature table to dir and returns its path.
func writeTable(t *testing.T, dir, name string, dim int, meta map[string]string, y []uint8, x []float32) string {
	t.Helper()
	path := filepath.Join(dir, name)
	w, err := features.Create(path, dim, meta)
	if err != nil {
		t.Fatal(err)
	}
	idx := make([]int32, len(y))
	for i := range idx {
		idx[i] = int32(i)
	}
	if err := w.Write(features.Batch{Index: idx, Label: y, Features: x}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// separable draws n rows of width dim: the corner of [-1, 1]^4 that the
// bits of the label name, repeated, plus a little noise.
func separable(n, dim int, seed uint64) ([]uint8, []float32) {
	r := rand.New(rand.NewPCG(seed, 0))
	y, x := make([]uint8, n), make([]float32, n*dim)
	for i := range n {
		y[i] = uint8(r.IntN(10))
		for j := range dim {
			x[i*dim+j] = float32(2*(int(y[i])>>(j%4)&1)-1) + 0.1*float32(r.NormFloat64())
		}
	}
	return y, x
}

// mustParse parses args as main does.
func mustParse(t *testing.T, args ...string) *cli {
	t.Helper()
	c, err := parse(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDefaults(t *testing.T) {
	c := mustParse(t, "--train", "a", "--test", "b")
	if got, want := c.config(), linprobe.DefaultConfig(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("flags give the protocol %+v, want linprobe's default %+v", got, want)
	}
	if c.KNN != 0 || c.KNNTemp != linprobe.DefaultTemperature {
		t.Errorf("kNN %d, temperature %g: want off, %g", c.KNN, c.KNNTemp, linprobe.DefaultTemperature)
	}
	// --print-defaults needs neither --train nor --test, and what it prints,
	// given back as flags, is the defaults.
	var out bytes.Buffer
	if err := run([]string{"--print-defaults"}, &out, os.Stderr); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), fmt.Sprintf("EPOCHS=%d\n", linprobe.DefaultConfig().Epochs)) {
		t.Errorf("--print-defaults printed\n%s\nwithout EPOCHS=%d", out.String(), linprobe.DefaultConfig().Epochs)
	}
	flags := []string{"--train", "a", "--test", "b"}
	for _, line := range strings.Fields(out.String()) {
		name, value, _ := strings.Cut(line, "=")
		flags = append(flags, "--"+strings.ToLower(strings.ReplaceAll(name, "_", "-"))+"="+value)
	}
	if given := mustParse(t, flags...); *given != *c {
		t.Errorf("%v gives\n%+v, want the defaults\n%+v", flags, *given, *c)
	}

	t.Setenv("LINPROBE_SEED", "7")
	c = mustParse(t, "--train", "a", "--test", "b", "--no-standardize", "--knn", "200")
	if c.Seed != 7 || c.Standardize || c.KNN != 200 {
		t.Errorf("LINPROBE_SEED=7 --no-standardize --knn 200 parsed as %+v", *c)
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	meta := map[string]string{
		features.MetaCheckpoint:       "ckpt-0042.bin",
		features.MetaCheckpointSHA256: "0123456789abcdef0123",
		features.MetaEpoch:            "42",
	}
	y, x := separable(2000, 8, 1)
	meta[features.MetaSplit] = "train"
	train := writeTable(t, dir, "train.arrow", 8, meta, y, x)
	ty, tx := separable(500, 8, 2)
	meta[features.MetaSplit] = "test"
	test := writeTable(t, dir, "test.arrow", 8, meta, ty, tx)
	reportPath := filepath.Join(dir, "report.json")

	c := mustParse(t, "--train", train, "--test", test, "--epochs", "10", "--knn", "20", "--report", reportPath)
	var out, progress bytes.Buffer
	if err := c.evaluate(&out, &progress); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"train.arrow: 2000 rows × 8 (split train, checkpoint ckpt-0042.bin, epoch 42, sha256 0123456789ab…)",
		"test top-1 100.00% (500/500)",
		"kNN: k 20, temperature 0.1",
		"9 truck       100.00%  100.00%",
		"confusion matrix, kNN",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if !strings.Contains(progress.String(), "epoch 10/10  loss ") {
		t.Errorf("progress %q", progress.String())
	}

	data, err := os.ReadFile(reportPath)
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Probe.Top1 != 1 || rep.KNN == nil || rep.KNN.Top1 != 1 || rep.Probe.Epochs != 10 || !rep.Probe.Standardize {
		t.Errorf("report %s", data)
	}
	if rep.Test.Metadata[features.MetaCheckpoint] != "ckpt-0042.bin" || rep.Test.Metadata[features.MetaSplit] != "test" || rep.Train.Rows != 2000 {
		t.Errorf("report inputs %+v %+v", rep.Train, rep.Test)
	}
	if len(rep.Probe.Confusion) != 10 || rep.Probe.PerClass[3].Name != "cat" || rep.ClassNames[9] != "truck" {
		t.Errorf("report scores %+v", rep.Probe.Scores)
	}
	for _, key := range []string{`"per_class"`, `"confusion"`, `"final_loss"`, `"seconds"`, `"producer": "linprobe `} {
		if !bytes.Contains(data, []byte(key)) {
			t.Errorf("report lacks %s", key)
		}
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	y, x := separable(300, 4, 1)
	good := writeTable(t, dir, "train.arrow", 4, nil, y, x)
	wide := writeTable(t, dir, "wide.arrow", 8, nil, y[:150], x)
	empty := writeTable(t, dir, "empty.arrow", 4, nil, nil, nil)
	other := writeTable(t, dir, "other.arrow", 4, map[string]string{features.MetaClassNames: `["a","b","c","d","e","f","g","h","i","j"]`}, y, x)
	ckptA := writeTable(t, dir, "a.arrow", 4, map[string]string{features.MetaCheckpointSHA256: "aaaa"}, y, x)
	ckptB := writeTable(t, dir, "b.arrow", 4, map[string]string{features.MetaCheckpointSHA256: "bbbb"}, y, x)
	seed0 := writeTable(t, dir, "s0.arrow", 4, map[string]string{features.MetaCheckpoint: "random-init seed 0"}, y, x)
	seed1 := writeTable(t, dir, "s1.arrow", 4, map[string]string{features.MetaCheckpoint: "random-init seed 1"}, y, x)

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"widths differ", []string{"--train", good, "--test", wide}, wide + ": feature width 8, but " + good + " has 4"},
		{"empty train", []string{"--train", empty, "--test", good}, empty + ": no rows"},
		{"empty test", []string{"--train", good, "--test", empty}, empty + ": no rows"},
		{"classes differ", []string{"--train", good, "--test", other}, other + `: classes ["a" "b"`},
		{"checkpoints differ", []string{"--train", ckptA, "--test", ckptB}, `come from different checkpoints (checkpoint_sha256 "aaaa" and "bbbb")`},
		{"random encoders differ", []string{"--train", seed0, "--test", seed1}, `(checkpoint "random-init seed 0" and "random-init seed 1")`},
		{"missing", []string{"--train", filepath.Join(dir, "nope.arrow"), "--test", good}, "nope.arrow: no such file"},
		{"two stdins", []string{"--train", "-", "--test", "-"}, "only one of --train and --test"},
		{"k too large", []string{"--train", good, "--test", good, "--knn", "301"}, "kNN: k = 301, want 1 to the 300 training rows"},
		{"negative k", []string{"--train", good, "--test", good, "--knn=-1"}, "--knn -1: want 0 to 1000000"},
		{"zero temperature", []string{"--train", good, "--test", good, "--knn", "5", "--knn-temperature", "0"}, "--knn-temperature 0: want above 0"},
		{"no epochs", []string{"--train", good, "--test", good, "--epochs", "0"}, "--epochs 0: want 1 to 100000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := mustParse(t, tc.args...).evaluate(&bytes.Buffer{}, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// Every numeric flag refuses zero, negative, non-finite and absurd values,
// naming the flag, before reading a table (the paths here do not exist).
func TestBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--epochs", "0"}, "--epochs 0: want 1 to 100000"},
		{[]string{"--epochs", "1000000"}, "--epochs 1000000"},
		{[]string{"--batch-size", "0"}, "--batch-size 0: want 1 to 65536"},
		{[]string{"--batch-size=-4"}, "--batch-size -4"},
		{[]string{"--lr", "0"}, "--lr 0: want above 0"},
		{[]string{"--lr", "NaN"}, "--lr NaN"},
		{[]string{"--lr", "1e9"}, "--lr 1e+09"},
		{[]string{"--momentum=-0.1"}, "--momentum -0.1: want 0 to 1"},
		{[]string{"--momentum", "Inf"}, "--momentum +Inf"},
		{[]string{"--knn=-5"}, "--knn -5"},
		{[]string{"--knn", "2000000000"}, "--knn 2000000000"},
		{[]string{"--knn-temperature=-1"}, "--knn-temperature -1"},
		{[]string{"--threads=-2"}, "--threads -2: want 0 to 4096"},
	} {
		args := append([]string{"--train", "/nonexistent/train.arrow", "--test", "/nonexistent/test.arrow"}, tc.args...)
		err := mustParse(t, args...).evaluate(&bytes.Buffer{}, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one containing %q", tc.args, err, tc.want)
		}
	}
}

// The temporaries a killed run left beside --report and --map are removed
// at start.
func TestRemovesStaleTemporaries(t *testing.T) {
	dir := t.TempDir()
	y, x := separable(300, 4, 1)
	good := writeTable(t, dir, "train.arrow", 4, nil, y, x)
	stale := []string{filepath.Join(dir, ".r.json.tmp-1"), filepath.Join(dir, ".m.png.tmp-2")}
	for _, p := range stale {
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := mustParse(t, "--train", good, "--test", good, "--epochs", "1", "--report", filepath.Join(dir, "r.json"), "--map", filepath.Join(dir, "m.png"))
	if err := c.evaluate(&bytes.Buffer{}, nil); err != nil {
		t.Fatal(err)
	}
	for _, p := range stale {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s still there: %v", p, err)
		}
	}
}
