package train

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/simclr-go/simclr/pkg/dist"
	"github.com/simclr-go/simclr/pkg/kern"
	"github.com/simclr-go/simclr/pkg/nn"
)

// fakeComm is a test double of dist.Comm: ranks are goroutines of one
// process meeting at a barrier. Sums run in rank order, so every rank gets
// the same bits, as from MPI.
type fakeComm struct {
	rank int
	g    *fakeGroup
}

type fakeGroup struct {
	size           int
	mu             sync.Mutex
	cond           *sync.Cond
	arrived, round int
	parts          []any
}

// ranksOf runs f as each of size ranks and waits for them all.
func ranksOf(size int, f func(c dist.Comm)) {
	g := &fakeGroup{size: size, parts: make([]any, size)}
	g.cond = sync.NewCond(&g.mu)
	var wg sync.WaitGroup
	for r := range size {
		wg.Go(func() { f(fakeComm{rank: r, g: g}) })
	}
	wg.Wait()
}

func (g *fakeGroup) barrier() {
	g.mu.Lock()
	defer g.mu.Unlock()
	round := g.round
	if g.arrived++; g.arrived == g.size {
		g.arrived, g.round = 0, round+1
		g.cond.Broadcast()
		return
	}
	for round == g.round {
		g.cond.Wait()
	}
}

// collective shares part with the other ranks and has read look at
// everyone's, before any rank goes on.
func (c fakeComm) collective(part any, read func(parts []any)) {
	c.g.parts[c.rank] = part
	c.g.barrier()
	read(c.g.parts)
	c.g.barrier()
}

func (c fakeComm) Rank() int { return c.rank }
func (c fakeComm) Size() int { return c.g.size }

func (c fakeComm) AllreduceSum32(buf []float32) { allreduce(c, buf) }
func (c fakeComm) AllreduceSum64(buf []float64) { allreduce(c, buf) }

func allreduce[T float32 | float64](c fakeComm, buf []T) {
	c.collective(slices.Clone(buf), func(parts []any) {
		for i := range buf {
			var s T
			for _, p := range parts {
				s += p.([]T)[i]
			}
			buf[i] = s
		}
	})
}

func (c fakeComm) Allgather32(send, recv []float32) { allgather(c, send, recv) }
func (c fakeComm) AllgatherBytes(send, recv []byte) { allgather(c, send, recv) }

func allgather[T any](c fakeComm, send, recv []T) {
	c.collective(send, func(parts []any) {
		for r, p := range parts {
			copy(recv[r*len(send):], p.([]T))
		}
	})
}

func (c fakeComm) Bcast32(buf []float32, root int) {
	c.collective(buf, func(parts []any) { copy(buf, parts[root].([]float32)) })
}

// relDiff is ||a-b|| / ||a||, and the largest |a_i-b_i| / |a_i| over the
// nonzero a_i.
func relDiff(a, b []float32) (norm, elem float64) {
	var d2, a2 float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		d2, a2 = d2+d*d, a2+float64(a[i])*float64(a[i])
		if a[i] != 0 {
			elem = max(elem, math.Abs(d/float64(a[i])))
		}
	}
	if a2 == 0 {
		return math.Sqrt(d2), elem
	}
	return math.Sqrt(d2 / a2), elem
}

// Local rows map onto the global batch one to one, and the two views of
// an image stay a global batch apart.
func TestGlobalRow(t *testing.T) {
	const ranks, b = 3, 2
	seen := make([]bool, 2*ranks*b)
	for r := range ranks {
		for l := range 2 * b {
			g := globalRow(l, r, b, ranks)
			if seen[g] {
				t.Fatalf("global row %d twice", g)
			}
			seen[g] = true
			if l < b && globalRow(l+b, r, b, ranks) != g+ranks*b {
				t.Errorf("rank %d image %d: views at global rows %d and %d", r, l, g, globalRow(l+b, r, b, ranks))
			}
		}
	}
}

// Batch norm synchronised over two ranks holding half the rows each is
// batch norm over all the rows: output, input gradient, running
// statistics, and weight gradients once the ranks' are added up.
func TestSyncBatchNorm(t *testing.T) {
	const n, half = 6, 3
	in := nn.Dims{N: n, H: 2, W: 2, C: 3}
	size := n * in.Image()
	x, dy := make([]float32, size), make([]float32, size)
	for i := range x {
		x[i] = float32(math.Sin(float64(i)))*2 + 0.5
		dy[i] = float32(math.Cos(float64(3 * i)))
	}
	one := nn.NewBatchNorm("bn", in, kern.Default())
	y, dx := make([]float32, size), make([]float32, size)
	one.Forward(y, x, n)
	one.Backward(dx, dy, x, n)

	parts := [2]*nn.BatchNorm{}
	ys, dxs := make([]float32, size), make([]float32, size)
	ranksOf(2, func(c dist.Comm) {
		bn := nn.NewBatchNorm("bn", nn.Dims{N: half, H: 2, W: 2, C: 3}, kern.Default())
		bn.Group = c
		lo, hi := c.Rank()*size/2, (c.Rank()+1)*size/2
		bn.Forward(ys[lo:hi], x[lo:hi], half)
		bn.Backward(dxs[lo:hi], dy[lo:hi], x[lo:hi], half)
		parts[c.Rank()] = bn
	})
	sum := func(get func(*nn.BatchNorm) []float32) []float32 {
		s := slices.Clone(get(parts[0]))
		for i, v := range get(parts[1]) {
			s[i] += v
		}
		return s
	}
	for _, c := range []struct {
		name      string
		want, got []float32
	}{
		{"output", y, ys},
		{"input gradient", dx, dxs},
		{"running mean", one.RunningMean.Data, parts[1].RunningMean.Data},
		{"running variance", one.RunningVar.Data, parts[1].RunningVar.Data},
		{"weight gradient", one.Weight.Grad, sum(func(b *nn.BatchNorm) []float32 { return b.Weight.Grad })},
		{"bias gradient", one.Bias.Grad, sum(func(b *nn.BatchNorm) []float32 { return b.Bias.Grad })},
	} {
		if norm, _ := relDiff(c.want, c.got); norm > 1e-6 {
			t.Errorf("%s: relative difference %.2g", c.name, norm)
		}
	}
	if !slices.Equal(parts[0].RunningVar.Data, parts[1].RunningVar.Data) {
		t.Error("the ranks' running variances differ")
	}
}

// Two ranks with half the batch each take the step of one process with
// the whole batch: the same loss and the same gradients, to rounding (the
// sums over the batch are grouped by rank: the batch norms' partial sums,
// the weight gradients' GEMMs, then the ranks' gradients added up).
//
// One step, from the same weights: early training amplifies any rounding
// difference (a 1e-6 relative change to the initial weights moves the
// loss by 1e-3 within two steps), so later steps would compare that.
func TestDistributedStepMatchesOneProcess(t *testing.T) {
	cfg := tinyConfig()
	cfg.Batch, cfg.Optimizer = 8, "sgd" // its momentum buffer is then the gradient
	data := synthetic(16)
	one, err := New(kern.Default(), cfg, data)
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	want, err := one.TrainStep()
	if err != nil {
		t.Fatal(err)
	}
	var got [2]StepResult
	var trainers [2]*Trainer
	var errs [2]error
	ranksOf(2, func(c dist.Comm) {
		tr, err := NewDistributed(kern.Default(), cfg, data, c)
		if err == nil {
			got[c.Rank()], err = tr.TrainStep()
		}
		if err == nil {
			err = tr.InSync()
		}
		trainers[c.Rank()], errs[c.Rank()] = tr, err
	})
	if err := errorsOf(errs[:]); err != nil {
		t.Fatal(err)
	}
	defer trainers[0].Close()
	defer trainers[1].Close()
	if got[0].Loss != got[1].Loss {
		t.Errorf("the ranks' losses %v and %v differ", got[0].Loss, got[1].Loss)
	}
	if d := math.Abs(float64(got[0].Loss-want.Loss)) / float64(want.Loss); d > 1e-5 {
		t.Errorf("loss %v, one process %v (relative %.2g)", got[0].Loss, want.Loss, d)
	}
	a, b := one.Opt.State(), trainers[0].Opt.State()
	worst := 0.0
	for i := range a {
		if strings.HasSuffix(a[i].Name, "projector.0.bias") || strings.HasSuffix(a[i].Name, "projector.3.bias") {
			continue // a bias before a batch norm: its gradient is zero, and rounding alone
		}
		norm, _ := relDiff(a[i].Data, b[i].Data)
		worst = max(worst, norm)
		if norm > 1e-4 {
			t.Errorf("gradient of %s: relative difference %.2g", a[i].Name, norm)
		}
	}
	t.Logf("loss %v vs %v; largest relative difference of a gradient %.2g", got[0].Loss, want.Loss, worst)
}

func errorsOf(errs []error) error {
	var all []error
	for r, err := range errs {
		if err != nil {
			all = append(all, fmt.Errorf("rank %d: %w", r, err))
		}
	}
	return errors.Join(all...)
}

// What ranks cannot share is refused on every rank before any collective,
// so that none waits for another.
func TestDistributedRefuses(t *testing.T) {
	cfg := tinyConfig()
	cfg.Batch = 6
	sup := tinyConfig()
	sup.Objective = ObjectiveSupervised
	oneRank := freshCheckpoint(t)
	for _, c := range []struct {
		name string
		make func(dist.Comm) (*Trainer, error)
		want string
	}{
		{"uneven batch", func(c dist.Comm) (*Trainer, error) {
			return NewDistributed(kern.Default(), cfg, synthetic(12), c)
		}, "batch 6 does not split evenly over 4 ranks"},
		{"supervised", func(c dist.Comm) (*Trainer, error) {
			return NewDistributed(kern.Default(), sup, synthetic(8), c)
		}, "the supervised objective trains in one process"},
		{"other world size", func(c dist.Comm) (*Trainer, error) {
			return ResumeDistributed(kern.Default(), oneRank, synthetic(8), c)
		}, "the run has world size 1 (world_size), and this resume 4"},
	} {
		var errs [4]error
		ranksOf(4, func(comm dist.Comm) {
			tr, err := c.make(comm)
			if tr != nil {
				tr.Close()
			}
			errs[comm.Rank()] = err
		})
		for r, err := range errs {
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: rank %d: error %v, want one containing %q", c.name, r, err, c.want)
			}
		}
	}
}

// InSync tells every rank when one of them holds other weights.
func TestInSyncFindsDivergence(t *testing.T) {
	cfg := tinyConfig()
	var errs [2]error
	ranksOf(2, func(c dist.Comm) {
		tr, err := NewDistributed(kern.Default(), cfg, synthetic(8), c)
		if err != nil {
			errs[c.Rank()] = err
			return
		}
		defer tr.Close()
		if c.Rank() == 1 {
			tr.Enc.Conv1.Weight.Data[5] += 1e-6
		}
		errs[c.Rank()] = tr.InSync()
	})
	for r, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "differs from that of ranks [1]") {
			t.Errorf("rank %d: error %v, want one naming rank 1", r, err)
		}
	}
}
