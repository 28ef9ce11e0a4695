package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/simclr-go/simclr/pkg/features"
	"github.com/simclr-go/simclr/pkg/linprobe"
	"github.com/simclr-go/simclr/pkg/version"
)

// report is what linprobe measured, written as JSON by --report. Accuracies
// are fractions.
type report struct {
	Producer   string      `json:"producer"`
	Train      input       `json:"train"`
	Test       input       `json:"test"`              // with --holdout, the rows held out of the training set
	Holdout    int         `json:"holdout,omitempty"` // --holdout: the scores are of a validation set, not the test set
	ClassNames []string    `json:"class_names"`
	Probe      probeReport `json:"probe"`
	KNN        *knnReport  `json:"knn,omitempty"`
	Seconds    struct {
		Read  float64 `json:"read"`
		Probe float64 `json:"probe"`
		KNN   float64 `json:"knn,omitempty"`
		Total float64 `json:"total"`
	} `json:"seconds"`
}

// input describes a feature table read, with its metadata (checkpoint,
// epoch, producer...) so that a report says what it measured.
type input struct {
	Path     string            `json:"path"`  // the file read, or the files joined by " + "
	Files    []string          `json:"files"` // the files read, in order`
	Rows     int               `json:"rows"`
	Dim      int               `json:"dim"`
	Metadata map[string]string `json:"metadata"`
}

type probeReport struct {
	Epochs      int     `json:"epochs"`
	BatchSize   int     `json:"batch_size"`
	LR          float64 `json:"lr"`
	Schedule    string  `json:"schedule"`
	Momentum    float64 `json:"momentum"`
	Nesterov    bool    `json:"nesterov"`
	WeightDecay float64 `json:"weight_decay"`
	Standardize bool    `json:"standardize"`
	Seed        uint64  `json:"seed"`
	FinalLoss   float64 `json:"final_loss"` // mean training loss of the last epoch
	TrainTop1   float64 `json:"train_top1"`
	linprobe.Scores
}

type knnReport struct {
	K           int     `json:"k"`
	Temperature float64 `json:"temperature"`
	linprobe.Scores
}

func newReport(c *cli, train, test *features.Table) *report {
	in := func(t *features.Table, files []string) input {
		return input{Path: t.Name, Files: files, Rows: t.Len(), Dim: t.Dim, Metadata: t.Metadata}
	}
	return &report{
		Producer:   version.Producer("linprobe"),
		Train:      in(train, c.Train),
		Test:       in(test, c.Test),
		Holdout:    c.Holdout,
		ClassNames: train.ClassNames,
		Probe: probeReport{
			Epochs:      c.Epochs,
			BatchSize:   c.BatchSize,
			LR:          c.LR,
			Schedule:    "cosine per step to 0",
			Momentum:    c.Momentum,
			Nesterov:    true,
			Standardize: c.Standardize,
			Seed:        c.Seed,
		},
	}
}

// writeText writes the results as tables for people.
func (r *report) writeText(out io.Writer) error {
	w := bufio.NewWriter(out)
	for _, in := range []struct {
		name string
		in   input
	}{{"train", r.Train}, {r.scored(), r.Test}} {
		fmt.Fprintf(w, "%-5s  %s: %d rows × %d%s\n", in.name, in.in.Path, in.in.Rows, in.in.Dim, provenance(in.in.Metadata))
	}
	p := r.Probe
	std := "standardised"
	if !p.Standardize {
		std = "raw"
	}
	fmt.Fprintf(w, "\nlinear probe: %d epochs, batch %d, lr %g cosine to 0, Nesterov %g, %s features, seed %d (%.1f s)\n",
		p.Epochs, p.BatchSize, p.LR, p.Momentum, std, p.Seed, r.Seconds.Probe)
	fmt.Fprintf(w, "  final training loss %.4f, train top-1 %s\n", p.FinalLoss, pct(p.TrainTop1))
	fmt.Fprintf(w, "  %s top-1 %s (%d/%d)\n", r.scored(), pct(p.Top1), p.Correct, p.Total)
	type eval struct {
		name string
		s    *linprobe.Scores
	}
	evals := []eval{{"probe", &p.Scores}}
	if k := r.KNN; k != nil {
		fmt.Fprintf(w, "kNN: k %d, temperature %g (%.1f s)\n", k.K, k.Temperature, r.Seconds.KNN)
		fmt.Fprintf(w, "  %s top-1 %s (%d/%d)\n", r.scored(), pct(k.Top1), k.Correct, k.Total)
		evals = append(evals, eval{"kNN", &k.Scores})
	}

	names := make([]string, len(r.ClassNames))
	width := 0
	for c, name := range r.ClassNames {
		names[c] = fmt.Sprintf("%d %s", c, name)
		width = max(width, len(names[c]))
	}
	fmt.Fprintf(w, "\n%-*s", width, "class")
	for _, e := range evals {
		fmt.Fprintf(w, "  %7s", e.name)
	}
	fmt.Fprintln(w)
	for c, name := range names {
		fmt.Fprintf(w, "%-*s", width, name)
		for _, e := range evals {
			fmt.Fprintf(w, "  %7s", pct(e.s.PerClass[c].Accuracy))
		}
		fmt.Fprintln(w)
	}
	for _, e := range evals {
		fmt.Fprintf(w, "\nconfusion matrix, %s (rows: true class, columns: predicted)\n%*s", e.name, width, "")
		for c := range names {
			fmt.Fprintf(w, " %5d", c)
		}
		fmt.Fprintln(w)
		for c, row := range e.s.Confusion {
			fmt.Fprintf(w, "%-*s", width, names[c])
			for _, v := range row {
				fmt.Fprintf(w, " %5d", v)
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprintf(w, "\ntime: read %.1f s, total %.1f s\n", r.Seconds.Read, r.Seconds.Total)
	return w.Flush()
}

// scored names the set the scores are of: the test set, or the validation
// set --holdout kept back.
func (r *report) scored() string {
	if r.Holdout > 0 {
		return "valid"
	}
	return "test"
}

// provenance summarises where a feature table comes from.
func provenance(md map[string]string) string {
	var parts []string
	for _, k := range []string{features.MetaSplit, features.MetaCheckpoint, features.MetaEpoch, features.MetaStem} {
		if v := md[k]; v != "" {
			parts = append(parts, k+" "+v)
		}
	}
	if v := md[features.MetaCheckpointSHA256]; v != "" {
		parts = append(parts, fmt.Sprintf("sha256 %.12s…", v))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func pct(f float64) string { return fmt.Sprintf("%.2f%%", 100*f) }
