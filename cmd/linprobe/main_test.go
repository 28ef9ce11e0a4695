package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
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
	if given := mustParse(t, flags...); !reflect.DeepEqual(given, c) {
		t.Errorf("%v gives\n%+v, want the defaults\n%+v", flags, *given, *c)
	}

	t.Setenv("LINPROBE_SEED", "7")
	c = mustParse(t, "--train", "a", "--test", "b", "--no-standardize", "--knn", "200")
	if c.Seed != 7 || c.Standardize || c.KNN != 200 {
		t.Errorf("LINPROBE_SEED=7 --no-standardize --knn 200 parsed as %+v", *c)
	}
}

// readReport reads the report --report wrote to path, and returns it and its JSON.
func readReport(t *testing.T, path string) (*report, []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	return &rep, data
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

	rep, data := readReport(t, reportPath)
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

// --holdout scores rows kept back from the training set, the same ones for
// the same seed, and trains on the others.
func TestHoldout(t *testing.T) {
	dir := t.TempDir()
	y, x := separable(1000, 8, 1)
	train := writeTable(t, dir, "train.arrow", 8, map[string]string{features.MetaSplit: "train"}, y, x)
	report := func(seed string) *report {
		path := filepath.Join(dir, "report-"+seed+".json")
		var out bytes.Buffer
		if err := mustParse(t, "--train", train, "--holdout", "200", "--seed", seed, "--epochs", "3", "--report", path).evaluate(&out, nil); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "valid  200 rows of "+train+" held out (seed "+seed+")") || !strings.Contains(out.String(), "valid top-1 ") {
			t.Errorf("output does not say it scored the held-out rows:\n%s", out.String())
		}
		rep, _ := readReport(t, path)
		return rep
	}
	a, b, c := report("0"), report("0"), report("1")
	if a.Holdout != 200 || a.Train.Rows != 800 || a.Test.Rows != 200 || a.Probe.Total != 200 {
		t.Errorf("holdout %d, %d rows trained on and %d scored (%d), want 200, 800 and 200", a.Holdout, a.Train.Rows, a.Test.Rows, a.Probe.Total)
	}
	if a.Probe.Top1 != b.Probe.Top1 || a.Probe.FinalLoss != b.Probe.FinalLoss {
		t.Errorf("the same seed gave another probe: %v, %v", a.Probe, b.Probe)
	}
	if a.Probe.FinalLoss == c.Probe.FinalLoss {
		t.Error("seeds 0 and 1 gave the same probe")
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
		{"two stdins", []string{"--train", "-", "--test", "-"}, "only one --train or --test file can be standard input"},
		{"two stdins in a split", []string{"--train", "-", "--train", "-", "--test", good}, "only one --train or --test file can be standard input"},
		{"k too large", []string{"--train", good, "--test", good, "--knn", "301"}, "kNN: k = 301, want 1 to the 300 training rows"},
		{"negative k", []string{"--train", good, "--test", good, "--knn=-1"}, "--knn -1: want 0 to 1000000"},
		{"zero temperature", []string{"--train", good, "--test", good, "--knn", "5", "--knn-temperature", "0"}, "--knn-temperature 0: want above 0"},
		{"no epochs", []string{"--train", good, "--test", good, "--epochs", "0"}, "--epochs 0: want 1 to 100000"},
		{"no test set", []string{"--train", good}, "give one of --test FILE and --holdout N"},
		{"test and holdout", []string{"--train", good, "--test", good, "--holdout", "10"}, "give one of --test FILE and --holdout N"},
		{"holdout of all", []string{"--train", good, "--holdout", "300"}, "--holdout 300: " + good + " has 300 rows"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := mustParse(t, tc.args...).evaluate(&bytes.Buffer{}, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// writeShards writes the rows y, x as n shard tables, as extract --shard
// writes them, and returns their paths in order.
func writeShards(t *testing.T, dir, name string, n, dim int, meta map[string]string, y []uint8, x []float32) []string {
	t.Helper()
	paths := make([]string, n)
	for i := range n {
		s := features.Shard{I: i, N: n}
		md := maps.Clone(meta)
		s.SetMetadata(md, len(y))
		lo, hi := s.Rows(len(y))
		paths[i] = writeTable(t, dir, fmt.Sprintf("%s-%d-of-%d.arrow", name, i, n), dim, md, y[lo:hi], x[lo*dim:hi*dim])
	}
	return paths
}

// A probe over the shards of each split gives the figures of a probe over
// the whole tables, and its report lists the files.
func TestShardedSplits(t *testing.T) {
	dir := t.TempDir()
	meta := map[string]string{features.MetaCheckpointSHA256: "0123456789abcdef0123", features.MetaSplit: "train"}
	y, x := separable(600, 8, 1)
	train := writeTable(t, dir, "train.arrow", 8, meta, y, x)
	trainShards := writeShards(t, dir, "train", 3, 8, meta, y, x)
	meta[features.MetaSplit] = "test"
	ty, tx := separable(200, 8, 2)
	test := writeTable(t, dir, "test.arrow", 8, meta, ty, tx)
	testShards := writeShards(t, dir, "test", 2, 8, meta, ty, tx)

	probe := func(args ...string) (*report, string) {
		t.Helper()
		path := filepath.Join(dir, "report.json")
		var out bytes.Buffer
		if err := mustParse(t, append(args, "--epochs", "3", "--knn", "10", "--report", path)...).evaluate(&out, nil); err != nil {
			t.Fatal(err)
		}
		rep, _ := readReport(t, path)
		return rep, out.String()
	}
	whole, _ := probe("--train", train, "--test", test)
	// --train repeated, --test a comma list.
	sharded, text := probe("--train", trainShards[0], "--train", trainShards[1], "--train", trainShards[2], "--test", strings.Join(testShards, ","))
	if !reflect.DeepEqual(sharded.Probe, whole.Probe) || !reflect.DeepEqual(sharded.KNN, whole.KNN) {
		t.Errorf("over the shards: probe %+v, kNN %+v\nover the whole tables: probe %+v, kNN %+v", sharded.Probe, sharded.KNN, whole.Probe, whole.KNN)
	}
	if !slices.Equal(sharded.Train.Files, trainShards) || !slices.Equal(sharded.Test.Files, testShards) || !slices.Equal(whole.Train.Files, []string{train}) {
		t.Errorf("files %v and %v, want %v and %v", sharded.Train.Files, sharded.Test.Files, trainShards, testShards)
	}
	if sharded.Train.Rows != 600 || sharded.Test.Rows != 200 || !maps.Equal(sharded.Train.Metadata, whole.Train.Metadata) {
		t.Errorf("train input %+v, want 600 rows and the whole table's metadata %v", sharded.Train, whole.Train.Metadata)
	}
	if want := "train  " + strings.Join(trainShards, " + ") + ": 600 rows × 8 (split train"; !strings.Contains(text, want) {
		t.Errorf("output lacks %q:\n%s", want, text)
	}

	t.Setenv("LINPROBE_TRAIN", strings.Join(trainShards, ","))
	if c := mustParse(t, "--test", test); !slices.Equal(c.Train, trainShards) {
		t.Errorf("LINPROBE_TRAIN=%s gives --train %q", strings.Join(trainShards, ","), c.Train)
	}
}

// Sets of tables that do not make one split are refused, naming the files.
func TestBadSplits(t *testing.T) {
	dir := t.TempDir()
	y, x := separable(300, 4, 1)
	meta := map[string]string{features.MetaCheckpointSHA256: "aaaa", features.MetaSplit: "train"}
	s3 := writeShards(t, dir, "train", 3, 4, meta, y, x)
	s2 := writeShards(t, dir, "train", 2, 4, meta, y, x)
	copies := writeShards(t, dir, "copy", 3, 4, meta, y, x)
	ofOther := writeShards(t, dir, "other", 3, 4, map[string]string{features.MetaCheckpointSHA256: "bbbb", features.MetaSplit: "train"}, y, x)
	ofTest := writeShards(t, dir, "test", 3, 4, map[string]string{features.MetaCheckpointSHA256: "aaaa", features.MetaSplit: "test"}, y, x)
	plain := writeTable(t, dir, "plain.arrow", 4, meta, y, x)
	wide := writeTable(t, dir, "wide.arrow", 8, meta, y[:150], x)
	for _, tc := range []struct {
		name  string
		train []string
		want  string
	}{
		{"a shard missing", []string{s3[0], s3[2]}, "shard 1/3 missing: 2 of the 3 shards given"},
		{"the last shard missing", s3[:2], "shard 2/3 missing"},
		{"shard counts differ", []string{s3[0], s2[1], s3[2]}, s2[1] + " is shard 1/2, but " + s3[0] + " is shard 0/3: different shard counts"},
		{"a shard twice", []string{s3[0], s3[1], s3[1], s3[2]}, s3[1] + " given twice (shard 1/3)"},
		{"a shard's copy", []string{s3[0], s3[1], copies[1], s3[2]}, copies[1] + " is shard 1/3 again (as " + s3[1] + ")"},
		{"out of order", []string{s3[0], s3[2], s3[1]}, "shards out of order: " + s3[2] + " is shard 2/3 but comes in place 1; give them in order 0 to 2"},
		{"a shard and a whole table", []string{plain, s3[1]}, s3[1] + " is shard 1/3, but " + plain + " is no shard"},
		{"another checkpoint", []string{s3[0], ofOther[1], s3[2]}, s3[0] + " and " + ofOther[1] + ` come from different checkpoints (checkpoint_sha256 "aaaa" and "bbbb")`},
		{"another split", []string{s3[0], ofTest[1], s3[2]}, ofTest[1] + `: split "test", but ` + s3[0] + ` has "train"`},
		{"another width", []string{plain, wide}, wide + ": feature width 8, but " + plain + " has 4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := []string{"--test", plain}
			for _, p := range tc.train {
				args = append(args, "--train", p)
			}
			err := mustParse(t, args...).evaluate(&bytes.Buffer{}, nil)
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
