package train

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/simclr-go/simclr/pkg/kern"
	"github.com/simclr-go/simclr/pkg/safetensors"
)

// snapshot copies every tensor of the run (model and optimizer) and the
// encoder's batch-norm modes.
func snapshot(tr *Trainer) ([][]byte, []bool) {
	var data [][]byte
	for _, ts := range tr.state().Tensors() {
		data = append(data, slices.Clone(ts.Data))
	}
	modes := []bool{tr.Enc.BN1.Train}
	for _, b := range tr.Enc.Blocks {
		modes = append(modes, b.BN1.Train, b.BN2.Train)
		if b.DownBN != nil {
			modes = append(modes, b.DownBN.Train)
		}
	}
	return data, modes
}

// A run with the monitor ends with the same checkpoint as one without,
// tensor for tensor and bit for bit (weights, batch-norm statistics,
// optimizer state), and the same metadata but for the wall time; an
// evaluation leaves the run's state and the encoder's mode as it found
// them. In fp32 with steps of 16 views, which take the direct
// convolutions, and evaluations of 16 and 4 queries and 12 bank images,
// which take the direct and the im2col ones; and the same in bf16 where
// this CPU has bf16 instructions (elsewhere bf16 runs the portable kernel,
// 25 s on a loaded 2-core Zen 3).
func TestMonitorChangesNothing(t *testing.T) {
	for _, bf16 := range []bool{false, true} {
		cfg := tinyConfig()
		cfg.Batch, cfg.BF16 = 8, bf16
		t.Run(string(cfg.Precision()), func(t *testing.T) {
			if prec, _, _ := kern.Default().Backend().Choose("auto"); bf16 && prec != kern.BF16 {
				t.Skipf("the %s backend runs bf16 in the portable kernel, slowly", kern.Default().Backend().Name)
			}
			testMonitorChangesNothing(t, cfg)
		})
	}
}

func testMonitorChangesNothing(t *testing.T, cfg Config) {
	data := synthetic(16) // 2 or 4 steps per epoch, 2 epochs
	queries := synthetic(20)
	ckpt := func(monitor bool) string {
		tr, err := New(kern.Default(), cfg, data)
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		var m *Monitor
		if monitor {
			if m, err = NewMonitor(tr, queries, 12, 5, 0.1, 1); err != nil {
				t.Fatal(err)
			}
		}
		evaluated := 0
		for !tr.Done() {
			run(t, tr, 1)
			if m == nil || !m.Due(tr) {
				continue
			}
			before, modes := snapshot(tr)
			rec, err := m.Evaluate(tr)
			if err != nil {
				t.Fatal(err)
			}
			evaluated++
			after, modesAfter := snapshot(tr)
			for i := range before {
				if !bytes.Equal(before[i], after[i]) {
					t.Fatalf("epoch %d: the evaluation changed tensor %s", tr.Epoch, tr.state().Tensors()[i].Name)
				}
			}
			if !slices.Equal(modes, modesAfter) || !modes[0] {
				t.Fatalf("batch-norm training modes %v before the evaluation, %v after", modes, modesAfter)
			}
			if rec.Epoch != tr.Epoch || rec.Queries != 20 || rec.Bank != 12 || rec.K != 5 || math.IsNaN(rec.Top1) || rec.Top1 < 0 || rec.Top1 > 1 {
				t.Errorf("record %+v", rec)
			}
		}
		if monitor && evaluated != 2 {
			t.Errorf("%d evaluations in 2 epochs with Every 1, want 2", evaluated)
		}
		path := filepath.Join(t.TempDir(), "ck.safetensors")
		if err := tr.Checkpoint(path); err != nil {
			t.Fatal(err)
		}
		return path
	}
	without, with := ckpt(false), ckpt(true)
	a, err := safetensors.Load(without)
	if err != nil {
		t.Fatal(err)
	}
	b, err := safetensors.Load(with)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Tensors) != len(b.Tensors) || len(a.Tensors) == 0 {
		t.Fatalf("%d tensors without the monitor, %d with", len(a.Tensors), len(b.Tensors))
	}
	optim := 0
	for i, ta := range a.Tensors {
		tb := b.Tensors[i]
		if ta.Name != tb.Name || ta.DType != tb.DType || !slices.Equal(ta.Shape, tb.Shape) || !bytes.Equal(ta.Data, tb.Data) {
			t.Errorf("tensor %s differs with the monitor", ta.Name)
		}
		if strings.HasPrefix(ta.Name, "optim.") {
			optim++
		}
	}
	if optim == 0 {
		t.Error("no optimizer state compared")
	}
	delete(a.Metadata, "train_seconds")
	delete(b.Metadata, "train_seconds")
	for k, v := range a.Metadata {
		if b.Metadata[k] != v {
			t.Errorf("metadata %s: %q without the monitor, %q with", k, v, b.Metadata[k])
		}
	}
}

func TestMonitorErrors(t *testing.T) {
	tr, err := New(kern.Default(), tinyConfig(), synthetic(8))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	for _, tc := range []struct {
		name           string
		queries        Dataset
		bank, k, every int
		temperature    float64
		want           string
	}{
		{"k above the bank", synthetic(4), 6, 7, 1, 0.1, "monitor k = 7"},
		{"no queries", Dataset{}, 0, 2, 1, 0.1, "monitor queries"},
		{"every 0", synthetic(4), 0, 2, 0, 0.1, "every 0"},
		{"temperature 0", synthetic(4), 0, 2, 1, 0, "temperature 0"},
	} {
		_, err := NewMonitor(tr, tc.queries, tc.bank, tc.k, tc.temperature, tc.every)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

// The log reader keeps the monitor's lines, the last one of an epoch
// measured twice, in epoch order, up to the epoch asked for.
func TestReadMonitorLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.jsonl")
	log := `{"epoch":1,"step":1,"global_step":1,"loss":5.1,"lr":0.1,"views_per_s":10}
{"epoch":1,"mean_loss":5.1,"seconds":1}
{"epoch":1,"knn_top1":0.25,"knn_k":200,"knn_temperature":0.1,"knn_queries":2000,"knn_bank":5000,"knn_seconds":3}
{"epoch":3,"knn_top1":0.5,"knn_k":200,"knn_temperature":0.1,"knn_queries":2000,"knn_bank":5000,"knn_seconds":3}
{"epoch":2,"knn_top1":0.375,"knn_k":200,"knn_temperature":0.1,"knn_queries":2000,"knn_bank":5000,"knn_seconds":3}
{"epoch":2,"knn_top1":0.4,"knn_k":200,"knn_temperature":0.1,"knn_queries":2000,"knn_bank":5000,"knn_seconds":3}
`
	if err := os.WriteFile(path, []byte(log), 0o644); err != nil {
		t.Fatal(err)
	}
	recs, err := ReadMonitorLog(path, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 || recs[0].Epoch != 1 || recs[0].Top1 != 0.25 || recs[1].Epoch != 2 || recs[1].Top1 != 0.4 || recs[1].Bank != 5000 {
		t.Errorf("records %+v", recs)
	}
	if recs, err := ReadMonitorLog(filepath.Join(t.TempDir(), "none.jsonl"), -1); err != nil || recs != nil {
		t.Errorf("missing log: %v, %v", recs, err)
	}
}
