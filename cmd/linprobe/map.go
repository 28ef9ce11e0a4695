package main

import (
	"fmt"

	"github.com/simclr-go/simclr/pkg/features"
	"github.com/simclr-go/simclr/pkg/kern"
	"github.com/simclr-go/simclr/pkg/linprobe"
	"github.com/simclr-go/simclr/pkg/plot"
)

// drawMap writes a PNG scatter plot of the table's rows on the first two
// principal components of its standardised features, coloured by class.
func drawMap(eng *kern.Engine, path string, t *features.Table) error {
	if t.Dim < 2 {
		return fmt.Errorf("--map: features of width %d have no second component", t.Dim)
	}
	p, err := linprobe.NewPCA(eng, t.Features, t.Dim, 2)
	if err != nil {
		return fmt.Errorf("--map: %s: %w", t.Name, err)
	}
	xy, err := p.Project(t.Features)
	if err != nil {
		return fmt.Errorf("--map: %s: %w", t.Name, err)
	}
	title := "test features"
	if e := t.Metadata[features.MetaEpoch]; e != "" {
		title += ", epoch " + e
	}
	title += fmt.Sprintf(": PCA, %.1f%% + %.1f%% of variance", 100*p.Variance[0]/p.Total, 100*p.Variance[1]/p.Total)
	if err := plot.Scatter(path, title, xy[0], xy[1], t.Label, t.ClassNames); err != nil {
		return fmt.Errorf("--map: %w", err)
	}
	return nil
}
