// Command results gathers what a pipeline run measured into results.json
// and a Markdown summary.md in the run directory: the accuracies of
// linprobe's reports, the pretraining runs (from their newest checkpoint),
// the wall time of each stage, the throughput, the settings and the
// machine.
//
//	results --run-dir runs/simclr-cifar10 --title "SimCLR on CIFAR-10" \
//		--stage fetch=3.9 --stage pretrain=40211 --pretrain pretrain=pretrain \
//		--eval SimCLR=linprobe.json --image "Loss"=pretrain/loss.png
//
// Paths are relative to --run-dir.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/alecthomas/kong"

	"github.com/simclr-go/simclr/pkg/atomicfile"
	"github.com/simclr-go/simclr/pkg/safetensors"
	"github.com/simclr-go/simclr/pkg/train"
	"github.com/simclr-go/simclr/pkg/version"
)

const description = `Write results.json and summary.md for a pipeline run.

Reads linprobe --report files (--eval NAME=FILE), the newest checkpoint of
pretraining output directories (--pretrain STAGE=DIR: objective, epochs,
steps, images, final loss; with the wall time of the stage of that name, the
throughput; the kNN monitor's accuracy by epoch from its log.jsonl), and takes the wall time of each stage (--stage NAME=SECONDS)
and the run's settings (--setting KEY=VALUE) as given. Paths are relative
to --run-dir; the machine (cores, CPU model, Go version) is this one.`

type cli struct {
	RunDir    string   `required:"" placeholder:"DIR" help:"The run directory: inputs are relative to it, and results.json and summary.md go in it."`
	Title     string   `default:"Results" help:"Title of summary.md."`
	Setting   []string `placeholder:"KEY=VALUE" sep:"none" help:"A setting of the run (repeatable, in order)."`
	Stage     []string `placeholder:"NAME=SECONDS" sep:"none" help:"Wall time of a stage (repeatable, in order)."`
	Pretrain  []string `placeholder:"STAGE=DIR" sep:"none" help:"A pretraining output directory, and the stage that ran it (repeatable)."`
	Eval      []string `placeholder:"NAME=REPORT" sep:"none" help:"A linprobe --report JSON file, and the name of its row (repeatable, in order)."`
	Reference []string `placeholder:"NAME=VALUE" sep:"none" help:"A published figure to show beside the measured ones (repeatable)."`
	Image     []string `placeholder:"CAPTION=PATH" sep:"none" help:"A picture to show in summary.md if it exists (repeatable)."`
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "results: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	var c cli
	k, err := kong.New(&c, kong.Name("results"), kong.Description(description), kong.UsageOnError())
	if err != nil {
		return err
	}
	if _, err := k.Parse(args); err != nil {
		return err
	}
	if err := atomicfile.Clean(os.Stderr, "results", filepath.Join(c.RunDir, "results.json"), filepath.Join(c.RunDir, "summary.md")); err != nil {
		return err
	}
	res, err := gather(&c, time.Now())
	if err != nil {
		return err
	}
	if err := atomicfile.WriteJSON(filepath.Join(c.RunDir, "results.json"), res); err != nil {
		return err
	}
	return writeSummary(filepath.Join(c.RunDir, "summary.md"), res)
}

// Results is the content of results.json. Accuracies are fractions, times
// seconds.
type Results struct {
	Title       string           `json:"title"`
	Producer    string           `json:"producer"`
	Created     string           `json:"created"` // RFC 3339, UTC
	RunDir      string           `json:"run_dir"`
	Machine     Machine          `json:"machine"`
	Settings    Ordered[string]  `json:"settings"`      // setting → value
	Stages      Ordered[float64] `json:"stage_seconds"` // stage → wall time
	Pretrain    []Pretrain       `json:"pretrain"`
	Evaluations []Evaluation     `json:"evaluations"`
	Reference   []Pair           `json:"reference,omitempty"`
	Images      []Pair           `json:"images,omitempty"`
}

// Pair is a name and a value, as in a list of --reference or --image.
type Pair struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Machine says where the run ran.
type Machine struct {
	NProc int    `json:"nproc"` // CPU cores this process may use
	CPU   string `json:"cpu"`   // model name from /proc/cpuinfo
	Go    string `json:"go"`
	OS    string `json:"os"`
	Arch  string `json:"arch"`
}

// Pretrain describes a pretraining run by its newest checkpoint.
type Pretrain struct {
	Stage      string  `json:"stage"`
	Dir        string  `json:"dir"`
	Checkpoint string  `json:"checkpoint"`
	Objective  string  `json:"objective"`
	Stem       string  `json:"stem"`
	Epochs     int     `json:"epochs"`      // the run's planned epochs
	EpochsDone int     `json:"epochs_done"` // complete epochs in the checkpoint
	Complete   bool    `json:"complete"`
	Steps      int     `json:"steps"`
	Batch      int     `json:"batch"`
	Images     int     `json:"images"` // training images per epoch
	FinalLoss  float64 `json:"final_loss,omitempty"`
	// Seconds is the time of the training steps, over every invocation of
	// a resumed run (the checkpoint's train_seconds); for a checkpoint
	// without it, the wall time of its stage, which misses a resumed run's
	// earlier invocations. SecondsFrom says which: "checkpoint" or "stage".
	Seconds     float64 `json:"seconds,omitempty"`
	SecondsFrom string  `json:"seconds_from,omitempty"`
	ImagesPerS  float64 `json:"images_per_s,omitempty"` // steps × batch / seconds
	ViewsPerS   float64 `json:"views_per_s,omitempty"`  // augmented views through the encoder per second
	// KNN is the kNN monitor's accuracy by epoch (pretrain --monitor), from
	// the directory's log.jsonl, up to the checkpoint's epoch.
	KNN []train.MonitorRecord `json:"knn_monitor,omitempty"`
}

// Evaluation is one row of the results table: a linprobe report.
type Evaluation struct {
	Name       string   `json:"name"`
	Report     string   `json:"report"`
	Checkpoint string   `json:"checkpoint"`
	Epoch      string   `json:"epoch"`
	TrainRows  int      `json:"train_rows"`
	TestRows   int      `json:"test_rows"`
	LinearTop1 float64  `json:"linear_top1"`
	KNNTop1    *float64 `json:"knn_top1,omitempty"`
	KNNK       int      `json:"knn_k,omitempty"`
}

// gather reads the inputs c names.
func gather(c *cli, now time.Time) (*Results, error) {
	r := &Results{
		Title:    c.Title,
		Producer: version.Producer("results"),
		Created:  now.UTC().Format(time.RFC3339),
		RunDir:   c.RunDir,
		Machine:  machine(),
	}
	settings, err := pairs("--setting", c.Setting)
	if err != nil {
		return nil, err
	}
	for _, s := range settings {
		r.Settings = append(r.Settings, Named[string]{s.Name, s.Value})
	}
	if r.Reference, err = pairs("--reference", c.Reference); err != nil {
		return nil, err
	}
	stages, err := pairs("--stage", c.Stage)
	if err != nil {
		return nil, err
	}
	for _, s := range stages {
		sec, err := strconv.ParseFloat(s.Value, 64)
		if err != nil || !(sec >= 0 && sec <= 1e9) { // NaN and Inf too
			return nil, fmt.Errorf("--stage %s=%s: want seconds", s.Name, s.Value)
		}
		r.Stages = append(r.Stages, Named[float64]{s.Name, sec})
	}
	runs, err := pairs("--pretrain", c.Pretrain)
	if err != nil {
		return nil, err
	}
	for _, p := range runs {
		pt, err := readPretrain(c.RunDir, p.Value)
		if err != nil {
			return nil, err
		}
		pt.Stage = p.Name
		if sec, ok := r.Stages.Get(p.Name); ok && sec > 0 && pt.SecondsFrom == "" {
			pt.Seconds, pt.SecondsFrom = sec, "stage"
		}
		if pt.Seconds > 0 {
			pt.ImagesPerS = float64(pt.Steps*pt.Batch) / pt.Seconds
			pt.ViewsPerS = pt.ImagesPerS * float64(viewsPerImage(pt.Objective))
		}
		r.Pretrain = append(r.Pretrain, pt)
	}
	evals, err := pairs("--eval", c.Eval)
	if err != nil {
		return nil, err
	}
	for _, e := range evals {
		ev, err := readEval(c.RunDir, e.Value)
		if err != nil {
			return nil, err
		}
		ev.Name = e.Name
		r.Evaluations = append(r.Evaluations, ev)
	}
	if r.Images, err = pairs("--image", c.Image); err != nil {
		return nil, err
	}
	return r, nil
}

// pairs splits NAME=VALUE arguments at the last "=", so that names may
// hold one.
func pairs(flag string, args []string) ([]Pair, error) {
	out := make([]Pair, 0, len(args))
	for _, a := range args {
		i := strings.LastIndexByte(a, '=')
		if i <= 0 {
			return nil, fmt.Errorf("%s %q: want NAME=VALUE", flag, a)
		}
		out = append(out, Pair{a[:i], a[i+1:]})
	}
	return out, nil
}

func viewsPerImage(objective string) int {
	if objective == "supervised" {
		return 1
	}
	return 2
}

func machine() Machine {
	m := Machine{NProc: runtime.NumCPU(), Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH, CPU: "unknown"}
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return m
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if k, v, ok := strings.Cut(s.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
			m.CPU = strings.TrimSpace(v)
			break
		}
	}
	return m
}

// newestCheckpoint returns the file name of the latest checkpoint in dir:
// OBJECTIVE_epochNNN[_stepSSSSS].safetensors names sort in training order.
func newestCheckpoint(dir string) (string, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*_epoch*.safetensors"))
	if err != nil {
		return "", err
	}
	if len(names) == 0 {
		return "", fmt.Errorf("%s: no checkpoints", dir)
	}
	slices.SortFunc(names, func(a, b string) int {
		return strings.Compare(position(filepath.Base(a)), position(filepath.Base(b)))
	})
	return filepath.Base(names[len(names)-1]), nil
}

// position is the part of a checkpoint name after the objective:
// "epoch012.safetensors" sorts before "epoch012_step00040.safetensors".
func position(name string) string {
	if i := strings.LastIndex(name, "_epoch"); i >= 0 {
		return name[i:]
	}
	return name
}

func readPretrain(runDir, dir string) (Pretrain, error) {
	p := Pretrain{Dir: dir}
	name, err := newestCheckpoint(filepath.Join(runDir, dir))
	if err != nil {
		return p, err
	}
	p.Checkpoint = name
	f, err := safetensors.Load(filepath.Join(runDir, dir, name))
	if err != nil {
		return p, err
	}
	m := f.Metadata
	var cfg struct {
		Objective string `json:"objective"`
		Stem      string `json:"stem"`
		Epochs    int    `json:"epochs"`
		Batch     int    `json:"batch"`
	}
	if err := json.Unmarshal([]byte(m["config"]), &cfg); err != nil {
		return p, fmt.Errorf("%s: config: %w", name, err)
	}
	var history []float64
	if h := m["loss_history"]; h != "" {
		if err := json.Unmarshal([]byte(h), &history); err != nil {
			return p, fmt.Errorf("%s: loss_history: %w", name, err)
		}
	}
	p.Objective, p.Stem, p.Epochs, p.Batch = cfg.Objective, cfg.Stem, cfg.Epochs, cfg.Batch
	if p.Objective == "" {
		p.Objective = "simclr" // checkpoints from before --objective
	}
	for key, dst := range map[string]*int{"epoch": &p.EpochsDone, "global_step": &p.Steps, "images": &p.Images} {
		if *dst, err = strconv.Atoi(m[key]); err != nil {
			return p, fmt.Errorf("%s: metadata %s: %w", name, key, err)
		}
	}
	if v, ok := m["train_seconds"]; ok {
		if p.Seconds, err = strconv.ParseFloat(v, 64); err != nil || p.Seconds < 0 {
			return p, fmt.Errorf("%s: metadata train_seconds %q: want seconds", name, v)
		}
		p.SecondsFrom = "checkpoint"
	}
	p.Complete = p.EpochsDone >= p.Epochs
	if p.KNN, err = train.ReadMonitorLog(filepath.Join(runDir, dir, "log.jsonl"), p.EpochsDone); err != nil {
		return p, err
	}
	if len(history) > 0 {
		p.FinalLoss = history[len(history)-1]
	}
	return p, nil
}

func readEval(runDir, path string) (Evaluation, error) {
	e := Evaluation{Report: path}
	data, err := os.ReadFile(filepath.Join(runDir, path))
	if err != nil {
		return e, err
	}
	// The fields of linprobe's report that the table needs.
	var rep struct {
		Test struct {
			Rows     int               `json:"rows"`
			Metadata map[string]string `json:"metadata"`
		} `json:"test"`
		Train struct {
			Rows int `json:"rows"`
		} `json:"train"`
		Probe *struct {
			Top1 float64 `json:"top1"`
		} `json:"probe"`
		KNN *struct {
			K    int     `json:"k"`
			Top1 float64 `json:"top1"`
		} `json:"knn"`
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		return e, fmt.Errorf("%s: %w", path, err)
	}
	if rep.Probe == nil {
		return e, fmt.Errorf("%s: not a linprobe report (no probe)", path)
	}
	e.Checkpoint, e.Epoch = rep.Test.Metadata["checkpoint"], rep.Test.Metadata["epoch"]
	e.TrainRows, e.TestRows, e.LinearTop1 = rep.Train.Rows, rep.Test.Rows, rep.Probe.Top1
	if rep.KNN != nil {
		e.KNNTop1, e.KNNK = &rep.KNN.Top1, rep.KNN.K
	}
	return e, nil
}
