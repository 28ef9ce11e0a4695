package optim

import (
	"testing"

	"github.com/simclr-go/simclr/pkg/kern"
	"github.com/simclr-go/simclr/pkg/nn"
)

// TestNoAllocation expects no allocation from a step after the first, on two
// threads and a parameter large enough for each to split it.
func TestNoAllocation(t *testing.T) {
	eng := kern.Default().WithThreads(2)
	const side = 256 // 1<<16 values, above each's threshold
	p := &nn.Param{Tensor: nn.Tensor{Name: "w", Shape: []int{side, side}, Data: make([]float32, side*side)}, Grad: make([]float32, side*side)}
	for i := range p.Data {
		p.Data[i], p.Grad[i] = float32(i%7)-3, float32(i%5)-2
	}
	params := []*nn.Param{p}
	for _, opt := range []struct {
		name string
		Optimizer
	}{
		{"adam", NewAdam(params, 0.01, eng)},
		{"sgd", NewSGD(params, 0.9, 0.001, true, eng)},
		{"lars", NewLARS(params, 0.9, 0.001, eng)},
	} {
		if n := testing.AllocsPerRun(20, func() { opt.Step(0.01) }); n != 0 {
			t.Errorf("%s: %g allocations per step, want 0", opt.name, n)
		}
	}
}
