package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/simclr-go/simclr/pkg/safetensors"
)

// checkpoint writes a stand-in pretraining checkpoint: one tensor and the
// metadata pretrain writes, train_seconds unless seconds is empty (a
// checkpoint from before it).
func checkpoint(t *testing.T, path, objective string, epochs, epoch, steps int, seconds string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	meta := map[string]string{
		"config":       `{"objective":"` + objective + `","stem":"imagenet","epochs":` + itoa(epochs) + `,"batch":64}`,
		"epoch":        itoa(epoch),
		"global_step":  itoa(steps),
		"images":       "512",
		"loss_history": "[6.1,5.5]",
	}
	if seconds != "" {
		meta["train_seconds"] = seconds
	}
	if err := safetensors.Save(path, []safetensors.Tensor{safetensors.F32("w", []int{1}, []float32{1})}, meta); err != nil {
		t.Fatal(err)
	}
}

// outputs reads the results.json (parsed and raw) and summary.md that run
// wrote into dir.
func outputs(t *testing.T, dir string) (Results, []byte, []byte) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r Results
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "summary.md"))
	if err != nil {
		t.Fatal(err)
	}
	return r, data, md
}

func itoa(v int) string { b, _ := json.Marshal(v); return string(b) }

// report writes a stand-in linprobe report.
func report(t *testing.T, path string, knn bool) {
	t.Helper()
	rep := `{"train":{"rows":512},"test":{"rows":256,"metadata":{"checkpoint":"simclr_epoch002.safetensors","epoch":"2"}},"probe":{"top1":0.3125}`
	if knn {
		rep += `,"knn":{"k":20,"top1":0.28125}`
	}
	if err := os.WriteFile(path, []byte(rep+"}"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	checkpoint(t, filepath.Join(dir, "pretrain", "simclr_epoch001.safetensors"), "simclr", 2, 1, 8, "1.6")
	checkpoint(t, filepath.Join(dir, "pretrain", "simclr_epoch001_step00004.safetensors"), "simclr", 2, 1, 12, "2.4")
	checkpoint(t, filepath.Join(dir, "pretrain", "simclr_epoch002.safetensors"), "simclr", 2, 2, 16, "3.2")
	report(t, filepath.Join(dir, "linprobe.json"), true)
	report(t, filepath.Join(dir, "random.json"), false)
	if err := os.WriteFile(filepath.Join(dir, "map.png"), []byte("png"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := run([]string{"--run-dir", dir, "--title", "Smoke",
		"--setting", "EPOCHS=2", "--setting", "STEM=imagenet", "--setting", "LIMIT=",
		"--stage", "fetch=3.5", "--stage", "pretrain=4", "--stage", "extract=2.25",
		"--pretrain", "pretrain=pretrain",
		"--eval", "SimCLR=linprobe.json", "--eval", "random encoder, a=b=random.json",
		"--reference", "SimCLR linear eval=68.23%",
		"--image", "Test features=map.png", "--image", "Missing=nope.png"})
	if err != nil {
		t.Fatal(err)
	}
	r, data, md := outputs(t, dir)
	if r.Title != "Smoke" || r.Machine.NProc < 1 || !strings.HasPrefix(r.Machine.Go, "go") || r.Machine.CPU == "" {
		t.Errorf("title and machine: %+v", r)
	}
	if len(r.Settings) != 3 || r.Settings[0] != (Named[string]{"EPOCHS", "2"}) || r.Settings[2] != (Named[string]{"LIMIT", ""}) {
		t.Errorf("settings %+v", r.Settings)
	}
	if len(r.Stages) != 3 || r.Stages[2] != (Named[float64]{"extract", 2.25}) {
		t.Errorf("stages %+v", r.Stages)
	}
	// In the file, the settings and stage times are objects in the order given.
	var compact bytes.Buffer
	if err := json.Compact(&compact, data); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"settings":{"EPOCHS":"2","STEM":"imagenet","LIMIT":""}`, `"stage_seconds":{"fetch":3.5,"pretrain":4,"extract":2.25}`} {
		if !strings.Contains(compact.String(), want) {
			t.Errorf("results.json lacks %s:\n%s", want, data)
		}
	}
	if len(r.Pretrain) != 1 {
		t.Fatalf("pretrain %+v", r.Pretrain)
	}
	p := r.Pretrain[0]
	want := Pretrain{Stage: "pretrain", Dir: "pretrain", Checkpoint: "simclr_epoch002.safetensors", Objective: "simclr", Stem: "imagenet",
		Epochs: 2, EpochsDone: 2, Complete: true, Steps: 16, Batch: 64, Images: 512, FinalLoss: 5.5,
		Seconds: 3.2, SecondsFrom: "checkpoint", ImagesPerS: 16 * 64 / 3.2, ViewsPerS: 2 * 16 * 64 / 3.2}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("pretrain\n got %+v\nwant %+v", p, want)
	}
	if len(r.Evaluations) != 2 {
		t.Fatalf("evaluations %+v", r.Evaluations)
	}
	e := r.Evaluations[0]
	if e.Name != "SimCLR" || e.LinearTop1 != 0.3125 || e.KNNTop1 == nil || *e.KNNTop1 != 0.28125 || e.KNNK != 20 ||
		e.Epoch != "2" || e.TrainRows != 512 || e.TestRows != 256 {
		t.Errorf("evaluation %+v", e)
	}
	if e := r.Evaluations[1]; e.Name != "random encoder, a=b" || e.KNNTop1 != nil {
		t.Errorf("evaluation without kNN %+v", e)
	}

	for _, want := range []string{
		"# Smoke\n",
		"| SimCLR | 31.25% | 28.12% (k=20) | 2 | 512 / 256 | simclr_epoch002.safetensors |",
		"| random encoder, a=b | 31.25% | – |",
		"Reference figures: SimCLR linear eval 68.23%.",
		"| simclr | imagenet | 2 of 2 (complete) | 16 | 64 | 512 | 5.5000 | 3.2 s | 320.0 | 640.0 |",
		"| extract | 2.2 s |",
		"| total | 9.8 s |",
		"| LIMIT | – |",
		"![Test features](map.png)",
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("summary.md lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(string(md), "nope.png") {
		t.Errorf("summary.md shows a picture that does not exist")
	}
}

// The kNN monitor's records in the log, up to the checkpoint's epoch, go
// into results.json, and a dozen of them into the summary's table.
func TestRunKNNMonitor(t *testing.T) {
	dir := t.TempDir()
	checkpoint(t, filepath.Join(dir, "pretrain", "simclr_epoch020.safetensors"), "simclr", 30, 20, 160, "3.2")
	var log strings.Builder
	log.WriteString(`{"epoch":1,"mean_loss":6.1,"seconds":1}` + "\n")
	for e := 1; e <= 21; e++ { // epoch 21 is past the checkpoint: a run that died before saving
		fmt.Fprintf(&log, `{"epoch":%d,"knn_top1":%g,"knn_k":200,"knn_temperature":0.1,"knn_queries":2000,"knn_bank":5000,"knn_seconds":9}`+"\n", e, float64(e)/100)
	}
	if err := os.WriteFile(filepath.Join(dir, "pretrain", "log.jsonl"), []byte(log.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"--run-dir", dir, "--pretrain", "pretrain=pretrain"}); err != nil {
		t.Fatal(err)
	}
	r, _, md := outputs(t, dir)
	if k := r.Pretrain[0].KNN; len(k) != 20 || k[19].Epoch != 20 || k[19].Top1 != 0.2 || k[0].Queries != 2000 {
		t.Errorf("knn_monitor %+v, want epochs 1 to 20", k)
	}
	for _, want := range []string{
		"kNN monitor (pretrain --monitor: 2000 images against 5000 training images, k=200, T=0.1), every 2 of its 20 evaluations and the last",
		"| 1 | 1.00% |\n| 3 | 3.00% |", "| 19 | 19.00% |\n| 20 | 20.00% |\n",
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("summary.md lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(string(md), "| 21 |") || strings.Contains(string(md), "| 2 | 2.00% |") {
		t.Errorf("summary.md shows epoch 21 or every epoch:\n%s", md)
	}
}

// A checkpoint from before train_seconds takes the time of its stage, and
// the summary says what that misses.
func TestRunCheckpointWithoutTime(t *testing.T) {
	dir := t.TempDir()
	checkpoint(t, filepath.Join(dir, "pretrain", "simclr_epoch002.safetensors"), "simclr", 2, 2, 16, "")
	if err := run([]string{"--run-dir", dir, "--stage", "pretrain=4", "--pretrain", "pretrain=pretrain"}); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "summary.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| simclr | imagenet | 2 of 2 (complete) | 16 | 64 | 512 | 5.5000 | 4.0 s | 256.0 | 512.0 |",
		"misses the earlier invocations of a resumed run",
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("summary.md lacks %q:\n%s", want, md)
		}
	}
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	checkpoint(t, filepath.Join(dir, "badtime", "simclr_epoch001.safetensors"), "simclr", 2, 1, 8, "soon")
	report(t, filepath.Join(dir, "linprobe.json"), false)
	if err := os.WriteFile(filepath.Join(dir, "other.json"), []byte(`{"rows":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no run dir", nil, "missing flags: --run-dir"},
		{"stage without seconds", []string{"--stage", "fetch"}, `--stage "fetch": want NAME=VALUE`},
		{"stage with words", []string{"--stage", "fetch=long"}, "--stage fetch=long: want seconds"},
		{"negative stage", []string{"--stage", "fetch=-1"}, "--stage fetch=-1: want seconds"},
		{"NaN stage", []string{"--stage", "fetch=NaN"}, "--stage fetch=NaN: want seconds"},
		{"infinite stage", []string{"--stage", "fetch=+Inf"}, "--stage fetch=+Inf: want seconds"},
		{"absurd stage", []string{"--stage", "fetch=1e300"}, "--stage fetch=1e300: want seconds"},
		{"missing report", []string{"--eval", "x=nope.json"}, "nope.json: no such file"},
		{"not a report", []string{"--eval", "x=other.json"}, "other.json: not a linprobe report"},
		{"no checkpoints", []string{"--pretrain", "pretrain=empty"}, "empty: no checkpoints"},
		{"bad training time", []string{"--pretrain", "pretrain=badtime"}, `train_seconds "soon": want seconds`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if tc.name != "no run dir" {
				args = append([]string{"--run-dir", dir}, args...)
			}
			err := run(args)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}

func TestOrdered(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   Ordered[float64]
		json string
	}{
		{"empty", Ordered[float64]{}, `{}`},
		{"order kept", Ordered[float64]{{"z", 1}, {"a", 2.5}, {"m=n", 0}}, `{"z":1,"a":2.5,"m=n":0}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := json.Marshal(tc.in)
			if err != nil || string(got) != tc.json {
				t.Fatalf("marshal: %s, %v; want %s", got, err, tc.json)
			}
			var back Ordered[float64]
			if err := json.Unmarshal(got, &back); err != nil || len(back) != len(tc.in) {
				t.Fatalf("unmarshal: %v, %v", back, err)
			}
			for i := range back {
				if back[i] != tc.in[i] {
					t.Errorf("entry %d: %v, want %v", i, back[i], tc.in[i])
				}
			}
		})
	}
	var o Ordered[float64]
	for _, bad := range []string{`[1]`, `{"a":"x"}`, `{"a":1`} {
		if err := json.Unmarshal([]byte(bad), &o); err == nil {
			t.Errorf("unmarshal %s: no error", bad)
		}
	}
}

func TestNewestCheckpoint(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []string
		want  string
	}{
		{"epochs", []string{"simclr_epoch009.safetensors", "simclr_epoch010.safetensors"}, "simclr_epoch010.safetensors"},
		{"inside an epoch", []string{"simclr_epoch010.safetensors", "simclr_epoch010_step00003.safetensors"}, "simclr_epoch010_step00003.safetensors"},
		{"steps", []string{"simclr_epoch000_step00002.safetensors", "simclr_epoch000_step00010.safetensors"}, "simclr_epoch000_step00010.safetensors"},
		{"other files", []string{"supervised_epoch001.safetensors", "log.jsonl", "loss.png"}, "supervised_epoch001.safetensors"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := newestCheckpoint(dir)
			if err != nil || got != tc.want {
				t.Errorf("newest %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		sec  float64
		want string
	}{
		{0, "–"}, {4.25, "4.2 s"}, {59.9, "59.9 s"}, {60, "1 min 00 s"}, {725, "12 min 05 s"}, {3600, "1 h 00 min"}, {45000, "12 h 30 min"},
	} {
		if got := duration(tc.sec); got != tc.want {
			t.Errorf("duration(%g) = %q, want %q", tc.sec, got, tc.want)
		}
	}
}

// The temporaries a killed run left beside results.json and summary.md are
// removed at start.
func TestRemovesStaleTemporaries(t *testing.T) {
	dir := t.TempDir()
	stale := []string{filepath.Join(dir, ".results.json.tmp-1"), filepath.Join(dir, ".summary.md.tmp-2")}
	for _, p := range stale {
		if err := os.WriteFile(p, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := run([]string{"--run-dir", dir}); err != nil {
		t.Fatal(err)
	}
	for _, p := range stale {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s still there: %v", p, err)
		}
	}
}
