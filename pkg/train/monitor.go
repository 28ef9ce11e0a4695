package train

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/simclr-go/simclr/pkg/augment"
	"github.com/simclr-go/simclr/pkg/linprobe"
	"github.com/simclr-go/simclr/pkg/model"
)

// Monitor scores the encoder during training, as solo-learn's and
// lightly's kNN monitors do: the encoder in eval mode embeds a set of
// labelled query images and a memory bank of training images, and
// linprobe.KNN (the classifier of linprobe --knn) classifies each query by
// a weighted vote of its K nearest bank images.
//
// It never changes the run: Evaluate runs the encoder forward only, in eval
// mode (running statistics, which it does not update), through buffers the
// next training step overwrites, and puts the encoder back in the mode it
// found; the optimizer, the position and the random streams are untouched.
type Monitor struct {
	Queries     Dataset // labelled images scored, e.g. the first of the test split
	Bank        Dataset // labelled images voted with, e.g. the first of the training split
	K           int
	Temperature float64
	Every       int // epochs between evaluations; the last epoch is always evaluated
}

// MonitorRecord is what one evaluation measured: a line of pretrain's
// log.jsonl, told from the step and epoch lines by its knn_top1.
type MonitorRecord struct {
	Epoch       int     `json:"epoch"`    // complete epochs when it was measured
	Top1        float64 `json:"knn_top1"` // fraction of queries classified correctly
	K           int     `json:"knn_k"`
	Temperature float64 `json:"knn_temperature"`
	Queries     int     `json:"knn_queries"`
	Bank        int     `json:"knn_bank"`
	Seconds     float64 `json:"knn_seconds"` // wall time of the evaluation
}

// NewMonitor builds a monitor over queries and the first bank images the
// trainer trains on (all of them when bank is 0 or more than there are).
// The bank comes from the trainer's in-memory images, so a run over a view
// stream cannot have one.
func NewMonitor(t *Trainer, queries Dataset, bank, k int, temperature float64, every int) (*Monitor, error) {
	var errs []error
	if t.stream != nil {
		errs = append(errs, errors.New("the kNN monitor's memory bank is the training images: give pretrain an image table, not a view stream"))
	}
	if queries.Len() == 0 || len(queries.Pixels) != queries.Len()*augment.ImageLen || len(queries.Label) != queries.Len() {
		errs = append(errs, fmt.Errorf("monitor queries: %d images, %d labels, %d pixel bytes", queries.Len(), len(queries.Label), len(queries.Pixels)))
	}
	if every < 1 {
		errs = append(errs, fmt.Errorf("monitor every %d epochs: want at least 1", every))
	}
	if bank < 0 {
		errs = append(errs, fmt.Errorf("monitor bank of %d images: want 0 (all) or more", bank))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	n := t.data.Len()
	if bank > 0 {
		n = min(n, bank)
	}
	b := Dataset{Pixels: t.data.Pixels[:n*augment.ImageLen], Index: t.data.Index[:n], Label: t.data.Label[:n]}
	if k < 1 || k > n {
		return nil, fmt.Errorf("monitor k = %d: want 1 to the %d images of the memory bank", k, n)
	}
	if !(temperature > 0) {
		return nil, fmt.Errorf("monitor temperature %g: want > 0", temperature)
	}
	return &Monitor{Queries: queries, Bank: b, K: k, Temperature: temperature, Every: every}, nil
}

// Due reports whether the run, at an epoch boundary, is to be evaluated
// now: every Every epochs, and at the end.
func (m *Monitor) Due(t *Trainer) bool {
	return t.Step == 0 && t.Epoch > 0 && (t.Epoch%m.Every == 0 || t.Done())
}

// Evaluate embeds the bank and the queries with t's encoder in eval mode
// and scores the queries by kNN.
func (m *Monitor) Evaluate(t *Trainer) (MonitorRecord, error) {
	start := time.Now()
	mean, std := t.Cfg.Normalization()
	bank := embed(t.Enc, m.Bank.Pixels, t.rows(), mean, std)
	queries := embed(t.Enc, m.Queries.Pixels, t.rows(), mean, std)
	pred, err := linprobe.KNN(t.Enc.Eng, bank, m.Bank.Label, queries, model.FeatureDim, Classes, m.K, m.Temperature)
	if err != nil {
		return MonitorRecord{}, fmt.Errorf("kNN monitor: %w", err)
	}
	correct := 0
	for i, p := range pred {
		if p == m.Queries.Label[i] {
			correct++
		}
	}
	return MonitorRecord{
		Epoch: t.Epoch, Top1: float64(correct) / float64(len(pred)), K: m.K, Temperature: m.Temperature,
		Queries: m.Queries.Len(), Bank: m.Bank.Len(), Seconds: time.Since(start).Seconds(),
	}, nil
}

// embed returns the eval-mode features of the CHW images in pixels, batch
// images per forward pass (at most the encoder's batch), normalised by the
// run's per-channel mean and std as training and extract normalise them.
// The encoder goes back to the mode it was in.
func embed(enc *model.Encoder, pixels []uint8, batch int, mean, std [augment.Channels]float32) []float32 {
	wasTrain := enc.BN1.Train
	enc.SetTrain(false)
	defer enc.SetTrain(wasTrain)
	n := len(pixels) / augment.ImageLen
	out := make([]float32, 0, n*model.FeatureDim)
	x := make([]float32, min(batch, n)*augment.ImageLen)
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		augment.ToNHWC(x[:(hi-lo)*augment.ImageLen], pixels[lo*augment.ImageLen:hi*augment.ImageLen], mean, std)
		out = append(out, enc.Forward(x, hi-lo)...)
	}
	return out
}

// ReadMonitorLog returns the monitor's records in a pretrain log.jsonl, one
// per epoch (the last written, should a resumed run have measured an epoch
// again), in epoch order, up to epoch upTo (all when upTo < 0). A missing
// log has none.
func ReadMonitorLog(path string, upTo int) ([]MonitorRecord, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	byEpoch := map[int]MonitorRecord{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for line := 1; sc.Scan(); line++ {
		var rec struct {
			MonitorRecord
			Top1 *float64 `json:"knn_top1"`
		}
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if rec.Top1 == nil || (upTo >= 0 && rec.Epoch > upTo) {
			continue
		}
		rec.MonitorRecord.Top1 = *rec.Top1
		byEpoch[rec.Epoch] = rec.MonitorRecord
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	recs := make([]MonitorRecord, 0, len(byEpoch))
	for _, r := range byEpoch {
		recs = append(recs, r)
	}
	slices.SortFunc(recs, func(a, b MonitorRecord) int { return a.Epoch - b.Epoch })
	return recs, nil
}
