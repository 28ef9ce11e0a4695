package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/simclr-go/simclr/pkg/atomicfile"
	"github.com/simclr-go/simclr/pkg/train"
)

// writeSummary writes r as Markdown for people.
func writeSummary(path string, r *Results) error {
	var b bytes.Buffer
	m := r.Machine
	fmt.Fprintf(&b, "# %s\n\n", r.Title)
	fmt.Fprintf(&b, "Run directory `%s`, written %s by %s, on %d × %s (%s/%s), %s.\n",
		r.RunDir, r.Created, r.Producer, m.NProc, m.CPU, m.OS, m.Arch, m.Go)

	if len(r.Evaluations) > 0 {
		b.WriteString("\n## Accuracy on the test set\n\n")
		b.WriteString("| model | linear eval | kNN | encoder epochs | train / test rows | checkpoint |\n")
		b.WriteString("| --- | --- | --- | --- | --- | --- |\n")
		for _, e := range r.Evaluations {
			knn := "–"
			if e.KNNTop1 != nil {
				knn = fmt.Sprintf("%s (k=%d)", pct(*e.KNNTop1), e.KNNK)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %d / %d | %s |\n",
				e.Name, pct(e.LinearTop1), knn, orDash(e.Epoch), e.TrainRows, e.TestRows, orDash(e.Checkpoint))
		}
	}
	if len(r.Reference) > 0 {
		b.WriteString("\nReference figures: ")
		for i, p := range r.Reference {
			if i > 0 {
				b.WriteString("; ")
			}
			fmt.Fprintf(&b, "%s %s", p.Name, p.Value)
		}
		b.WriteString(".\n")
	}

	for _, p := range r.Pretrain {
		fmt.Fprintf(&b, "\n## Pretraining (`%s`)\n\n", p.Dir)
		state := "complete"
		if !p.Complete {
			state = "not complete"
		}
		fmt.Fprintf(&b, "| objective | stem | epochs | steps | batch | images | final loss | training time | images/s | views/s |\n")
		b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
		fmt.Fprintf(&b, "| %s | %s | %d of %d (%s) | %d | %d | %d | %s | %s | %s | %s |\n",
			p.Objective, p.Stem, p.EpochsDone, p.Epochs, state, p.Steps, p.Batch, p.Images,
			orDashF("%.4f", p.FinalLoss), duration(p.Seconds), orDashF("%.1f", p.ImagesPerS), orDashF("%.1f", p.ViewsPerS))
		fmt.Fprintf(&b, "\nNewest checkpoint: `%s`.\n", p.Checkpoint)
		if p.SecondsFrom == "stage" {
			b.WriteString("The checkpoint does not record its training time: the time shown is this invocation's stage, " +
				"which misses the earlier invocations of a resumed run.\n")
		}
		writeKNN(&b, p.KNN)
	}

	if len(r.Stages) > 0 {
		b.WriteString("\n## Wall time per stage\n\n| stage | wall time |\n| --- | --- |\n")
		total := 0.0
		for _, s := range r.Stages {
			fmt.Fprintf(&b, "| %s | %s |\n", s.Name, duration(s.Value))
			total += s.Value
		}
		fmt.Fprintf(&b, "| total | %s |\n", duration(total))
	}
	if len(r.Settings) > 0 {
		b.WriteString("\n## Settings\n\n| setting | value |\n| --- | --- |\n")
		for _, s := range r.Settings {
			fmt.Fprintf(&b, "| %s | %s |\n", s.Name, orDash(s.Value))
		}
	}
	var pics []Pair
	for _, p := range r.Images {
		if _, err := os.Stat(filepath.Join(r.RunDir, p.Value)); err == nil {
			pics = append(pics, p)
		}
	}
	if len(pics) > 0 {
		b.WriteString("\n## Pictures\n")
		for _, p := range pics {
			fmt.Fprintf(&b, "\n%s:\n\n![%s](%s)\n", p.Name, p.Name, p.Value)
		}
	}

	f, err := atomicfile.Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(b.Bytes()); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Commit()
}

func pct(f float64) string { return fmt.Sprintf("%.2f%%", 100*f) }

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return strings.ReplaceAll(s, "|", `\|`)
}

// orDashF formats v, or a dash when it is zero (not measured).
func orDashF(format string, v float64) string {
	if v == 0 {
		return "–"
	}
	return fmt.Sprintf(format, v)
}

// duration formats seconds as people read them: 42.3 s, 12 min 5 s,
// 3 h 02 min.
func duration(sec float64) string {
	switch {
	case sec <= 0:
		return "–"
	case sec < 60:
		return fmt.Sprintf("%.1f s", sec)
	case sec < 3600:
		return fmt.Sprintf("%d min %02d s", int(sec)/60, int(sec)%60)
	}
	return fmt.Sprintf("%d h %02d min", int(sec)/3600, int(sec)%3600/60)
}

// knnRows is the most rows of the kNN monitor's table: a long run shows
// evenly spaced epochs and the last.
const knnRows = 12

// writeKNN writes the kNN monitor's curve as a table.
func writeKNN(b *bytes.Buffer, recs []train.MonitorRecord) {
	if len(recs) == 0 {
		return
	}
	last := recs[len(recs)-1]
	fmt.Fprintf(b, "\nkNN monitor (pretrain --monitor: %d images against %d training images, k=%d, T=%g)",
		last.Queries, last.Bank, last.K, last.Temperature)
	step := max(1, (len(recs)-1+knnRows-2)/(knnRows-1))
	if step > 1 {
		fmt.Fprintf(b, ", every %d of its %d evaluations and the last (all in results.json)", step, len(recs))
	}
	b.WriteString(":\n\n| epoch | kNN accuracy |\n| --- | --- |\n")
	for i, r := range recs {
		if i%step == 0 || i == len(recs)-1 {
			fmt.Fprintf(b, "| %d | %s |\n", r.Epoch, pct(r.Top1))
		}
	}
}
