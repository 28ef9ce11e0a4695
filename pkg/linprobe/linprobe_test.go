package linprobe

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/simclr-go/simclr/pkg/kern"
)

var cifarNames = []string{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}

// clusters draws n rows of width dim around one random centre per class:
// centre·sep plus unit Gaussian noise, so sep sets how separable they are.
// Every row has a positive offset, as post-ReLU features do.
func clusters(n, dim, classes int, sep float64, seed uint64) ([]float32, []uint8) {
	r := rand.New(rand.NewPCG(seed, 1))
	centres := make([]float64, classes*dim)
	cr := rand.New(rand.NewPCG(42, 2)) // the same classes for every seed
	for i := range centres {
		centres[i] = cr.NormFloat64() * sep
	}
	x, y := make([]float32, n*dim), make([]uint8, n)
	for i := range n {
		c := r.IntN(classes)
		y[i] = uint8(c)
		for j := range dim {
			x[i*dim+j] = float32(3 + centres[c*dim+j] + r.NormFloat64())
		}
	}
	return x, y
}

func accuracy(pred, y []uint8) float64 { return Score(pred, y, cifarNames).Top1 }

func quick() Config {
	c := DefaultConfig()
	c.Epochs = 10
	return c
}

func TestSeparable(t *testing.T) {
	x, y := clusters(3000, 32, 10, 1, 1)
	tx, ty := clusters(1000, 32, 10, 1, 2)
	for _, std := range []bool{true, false} {
		cfg := quick()
		cfg.Standardize = std
		if !std {
			cfg.LR = 0.01 // raw features sit around 3: a smaller step
		}
		var epochs []int
		cfg.Progress = func(e int, _ float64) { epochs = append(epochs, e) }
		p, err := Train(kern.Default(), x, y, 32, 10, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if acc := accuracy(p.Predict(tx), ty); acc < 0.99 {
			t.Errorf("standardize=%v: test accuracy %.3f, want ≥ 0.99", std, acc)
		}
		if len(p.Loss) != 10 || !(p.Loss[9] < p.Loss[0]) || !slices.Equal(epochs, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}) {
			t.Errorf("standardize=%v: losses %v, progress at epochs %v", std, p.Loss, epochs)
		}
	}
}

func TestDeterministic(t *testing.T) {
	x, y := clusters(1000, 8, 10, 0.3, 1)
	train := func(seed uint64) *Probe {
		cfg := quick()
		cfg.Seed = seed
		p, err := Train(kern.Default(), x, y, 8, 10, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b, c := train(7), train(7), train(8)
	if !slices.Equal(a.W, b.W) || !slices.Equal(a.B, b.B) || !slices.Equal(a.Loss, b.Loss) {
		t.Error("same seed, different probes")
	}
	if slices.Equal(a.W, c.W) {
		t.Error("different seeds, same probe")
	}
}

// TestInit checks the PyTorch nn.Linear initialisation: one epoch at a tiny
// rate leaves the weights where they started, within ±1/sqrt(D).
func TestInit(t *testing.T) {
	const dim = 100
	x, y := clusters(50, dim, 10, 1, 1)
	cfg := Config{Epochs: 1, BatchSize: 50, LR: 1e-12, Seed: 3}
	p, err := Train(kern.Default(), x, y, dim, 10, cfg)
	if err != nil {
		t.Fatal(err)
	}
	lo, hi := slices.Min(p.W), slices.Max(p.W)
	if lo < -0.1 || hi > 0.1 || lo > -0.09 || hi < 0.09 {
		t.Errorf("weights in [%g, %g], want spread over ±0.1", lo, hi)
	}
}

func TestStandardize(t *testing.T) {
	// Column 0 has mean 2 and std 1; column 1 is constant.
	x := []float32{1, 5, 3, 5, 1, 5, 3, 5}
	mean, scale := moments(x, 2)
	if !slices.Equal(mean, []float32{2, 5}) || !slices.Equal(scale, []float32{1, 1}) {
		t.Errorf("mean %v, scale %v", mean, scale)
	}
	p := &Probe{Dim: 2, Mean: mean, Scale: scale, eng: kern.Default()}
	if got := p.standardize(make([]float32, 8), x); !slices.Equal(got, []float32{-1, 0, 1, 0, -1, 0, 1, 0}) {
		t.Errorf("standardised %v", got)
	}
}

func TestTrainErrors(t *testing.T) {
	x, y := clusters(10, 4, 10, 1, 1)
	bad := DefaultConfig()
	bad.LR = 0
	for _, tc := range []struct {
		name    string
		x       []float32
		y       []uint8
		dim     int
		cfg     Config
		wantErr string
	}{
		{"no rows", nil, nil, 4, DefaultConfig(), "no rows"},
		{"zero width", x, y, 0, DefaultConfig(), "feature width 0"},
		{"ragged", x[:39], y, 4, DefaultConfig(), "39 feature values for 10 rows of width 4"},
		{"label", x, append(slices.Clone(y[:9]), 10), 4, DefaultConfig(), "row 9: label 10 out of range 0-9"},
		{"protocol", x, y, 4, bad, "learning rate 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Train(kern.Default(), tc.x, tc.y, tc.dim, 10, tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// TestKNNByHand: on the unit circle, the training points sit at angles 0.1
// (class 0), 0.2 and -0.3 (class 1) and π (class 2). Test point (1, 0) has
// cosines 0.995, 0.980, 0.955 and -1 to them: with k=3 and T=0.1 class 0
// weighs e^9.950 ≈ 20952 and class 1 e^9.801 + e^9.553 ≈ 32137, so class 1
// wins though class 0 holds the nearest point; at T=0.01 the nearest
// dominates. Test point (-3, 0) points at π: class 2 wins unless a high
// temperature evens the weights out and class 1's two votes count double.
func TestKNNByHand(t *testing.T) {
	at := func(a float64) []float32 { return []float32{float32(math.Cos(a)), float32(math.Sin(a))} }
	train := slices.Concat(at(0.1), at(0.2), at(-0.3), at(math.Pi))
	labels := []uint8{0, 1, 1, 2}
	test := slices.Concat(at(0), []float32{-3, 0})
	for _, tc := range []struct {
		k    int
		temp float64
		want []uint8
	}{
		{1, 0.1, []uint8{0, 2}},
		{3, 0.1, []uint8{1, 2}},
		{3, 0.01, []uint8{0, 2}},
		{3, 100, []uint8{1, 1}},
	} {
		got, err := KNN(kern.Default(), train, labels, test, 2, 3, tc.k, tc.temp)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("k=%d T=%g: predicted %v, want %v", tc.k, tc.temp, got, tc.want)
		}
	}
	if _, err := KNN(kern.Default(), train, labels, test, 2, 3, 5, 0.1); err == nil || !strings.Contains(err.Error(), "k = 5, want 1 to the 4 training rows") {
		t.Errorf("k beyond the training set: error %v", err)
	}
}

// TestKNNBlocks checks the blocked, heap-based search against a plain sort,
// on sizes that do not divide the blocks.
func TestKNNBlocks(t *testing.T) {
	const dim, k = 8, 20
	x, y := clusters(knnTrainChunk+300, dim, 10, 0.2, 1)
	tx, _ := clusters(knnTestBlock+5, dim, 10, 0.2, 2)
	got, err := KNN(kern.Default(), x, y, tx, dim, 10, k, 0.1)
	if err != nil {
		t.Fatal(err)
	}
	nx, ntx := normalized(kern.Default(), x, dim), normalized(kern.Default(), tx, dim)
	for i := 0; i < len(got); i += 97 {
		sims := make([]float64, len(y))
		order := make([]int, len(y))
		for j := range sims {
			for d := range dim {
				sims[j] += float64(ntx[i*dim+d]) * float64(nx[j*dim+d])
			}
			order[j] = j
		}
		sort.Slice(order, func(a, b int) bool { return sims[order[a]] > sims[order[b]] })
		votes := make([]float64, 10)
		for _, j := range order[:k] {
			votes[y[j]] += math.Exp(sims[j] / 0.1)
		}
		if want := uint8(argmax(votes)); got[i] != want {
			t.Errorf("row %d: predicted %d, want %d", i, got[i], want)
		}
	}
}

func TestTopK(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	h := topK{sim: make([]float32, 50), idx: make([]int32, 50)}
	h.reset()
	all := make([]float32, 1000)
	for i := range all {
		all[i] = float32(r.NormFloat64())
		if all[i] > h.sim[0] {
			h.replaceMin(all[i], int32(i))
		}
	}
	for j, i := range h.idx {
		if all[i] != h.sim[j] {
			t.Fatalf("entry %d: index %d holds %g, not %g", j, i, all[i], h.sim[j])
		}
	}
	kept := slices.Clone(h.sim)
	slices.Sort(kept)
	slices.Sort(all)
	if !slices.Equal(kept, all[len(all)-50:]) {
		t.Error("heap did not keep the 50 largest")
	}
}

func TestScore(t *testing.T) {
	s := Score([]uint8{0, 1, 1, 2, 0}, []uint8{0, 1, 2, 2, 1}, []string{"a", "b", "c"})
	want := [][]int{{1, 0, 0}, {1, 1, 0}, {0, 1, 1}}
	if s.Correct != 3 || s.Total != 5 || s.Top1 != 0.6 || !slices.EqualFunc(s.Confusion, want, slices.Equal) {
		t.Errorf("scores %+v", s)
	}
	if c := s.PerClass[1]; c.Name != "b" || c.Correct != 1 || c.Total != 2 || c.Accuracy != 0.5 {
		t.Errorf("class b: %+v", c)
	}
}

// Benchmarks at CIFAR-10 scale: 50,000 training rows of width 512, 10,000
// test rows. Run with -benchtime=1x: one iteration is a whole probe.

func BenchmarkTrain(b *testing.B) {
	x, y := clusters(50000, 512, 10, 0.05, 1)
	b.ResetTimer()
	for range b.N {
		if _, err := Train(kern.Default(), x, y, 512, 10, DefaultConfig()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKNN(b *testing.B) {
	x, y := clusters(50000, 512, 10, 0.05, 1)
	tx, _ := clusters(10000, 512, 10, 0.05, 2)
	b.ResetTimer()
	for range b.N {
		if _, err := KNN(kern.Default(), x, y, tx, 512, 10, DefaultK, DefaultTemperature); err != nil {
			b.Fatal(err)
		}
	}
}

func TestGather(t *testing.T) {
	const dim = 70 // not a multiple of the chunk
	x := make([]float32, 40*dim)
	for i := range x {
		x[i] = float32(i)
	}
	rows := []int{39, 0, 5, 5, 17, 2, 30, 31, 32, 1, 3, 4, 6, 7, 8, 9, 10, 11, 12} // more than a group
	got := make([]float32, len(rows)*dim)
	gather(got, x, rows, dim)
	for i, r := range rows {
		if !slices.Equal(got[i*dim:(i+1)*dim], x[r*dim:(r+1)*dim]) {
			t.Errorf("row %d (source %d) differs", i, r)
		}
	}
}
