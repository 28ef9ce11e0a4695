package optim

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/simclr-go/simclr/pkg/kern"
	"github.com/simclr-go/simclr/pkg/nn"
)

func TestMatchesPyTorch(t *testing.T) {
	raw, err := os.ReadFile("testdata/optim.json")
	if err != nil {
		t.Fatal(err)
	}
	var g struct {
		W0, Adam, SGD []float32
		SGDNesterov   []float32 `json:"sgd_nesterov"`
		Grads         [][]float32
		LRs           []float32
	}
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		make func([]*nn.Param) Optimizer
		want []float32
	}{
		{"adam", func(ps []*nn.Param) Optimizer { return NewAdam(ps, 0.01, kern.Default()) }, g.Adam},
		{"sgd", func(ps []*nn.Param) Optimizer { return NewSGD(ps, 0.9, 0.001, false, kern.Default()) }, g.SGD},
		{"sgd_nesterov", func(ps []*nn.Param) Optimizer { return NewSGD(ps, 0.9, 0, true, kern.Default()) }, g.SGDNesterov},
	} {
		p := &nn.Param{Tensor: nn.Tensor{Name: "w", Shape: []int{2, 3}, Data: append([]float32{}, g.W0...)}, Grad: make([]float32, 6)}
		opt := c.make([]*nn.Param{p})
		for s, grad := range g.Grads {
			copy(p.Grad, grad)
			opt.Step(g.LRs[s])
		}
		for i, w := range c.want {
			if math.Abs(float64(p.Data[i]-w)) > 1e-6*max(1, math.Abs(float64(w))) {
				t.Errorf("%s: w[%d] = %.8f, PyTorch %.8f", c.name, i, p.Data[i], w)
			}
		}
		if *opt.Steps() != 3 {
			t.Errorf("%s: %d steps counted, want 3", c.name, *opt.Steps())
		}
	}
}

func TestLARSTrustRatio(t *testing.T) {
	w := &nn.Param{Tensor: nn.Tensor{Name: "w", Shape: []int{2, 2}, Data: []float32{3, 0, 0, 4}}, Grad: []float32{0, 1, 0, 0}}
	b := &nn.Param{Tensor: nn.Tensor{Name: "b", Shape: []int{2}, Data: []float32{1, 1}}, Grad: []float32{0.5, 0}}
	opt := NewLARS([]*nn.Param{w, b}, 0.9, 0, kern.Default())
	opt.Step(1)
	// ‖w‖ = 5, ‖g‖ = 1: the weight's step is η·5 = 0.005; the bias is not adapted.
	if want := float32(-0.005); math.Abs(float64(w.Data[1]-want)) > 1e-7 {
		t.Errorf("weight step %g, want %g", w.Data[1], want)
	}
	if want := float32(0.5); b.Data[0] != want {
		t.Errorf("bias %g, want %g", b.Data[0], want)
	}
}

func TestWarmupCosine(t *testing.T) {
	for _, c := range []struct {
		step int
		want float32
	}{{0, 0.1}, {9, 1}, {10, 1}, {60, 0.5}, {110, 0}} {
		if got := WarmupCosine(1, c.step, 10, 110); math.Abs(float64(got-c.want)) > 1e-6 {
			t.Errorf("step %d: lr %g, want %g", c.step, got, c.want)
		}
	}
}
