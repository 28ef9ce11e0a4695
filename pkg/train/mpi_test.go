//go:build mpi

package train

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/simclr-go/simclr/pkg/dist"
	"github.com/simclr-go/simclr/pkg/dist/mpi"
	"github.com/simclr-go/simclr/pkg/kern"
	"github.com/simclr-go/simclr/pkg/nn"
)

// underMPI reports whether the test runs as a rank of an mpirun job.
func underMPI() bool { return os.Getenv("OMPI_COMM_WORLD_SIZE") != "" }

// TestMain starts MPI when the tests run under mpirun
// (tests/mpi-equivalence.sh); a failing rank ends the job.
func TestMain(m *testing.M) {
	if !underMPI() {
		os.Exit(m.Run())
	}
	if err := mpi.Init(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if code != 0 {
		mpi.Abort(code)
	}
	if err := mpi.Finalize(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// Ranks with their share of the batch each take the step one process
// takes with the whole batch: the same loss, weights, running statistics
// and optimizer state after it, step after step. What differs is the
// grouping of the sums over the batch: the batch norms' float32 partial
// sums run over each rank's rows and MPI adds the ranks' totals; the
// weight gradients' GEMMs sum each rank's rows and MPI adds the ranks'
// gradients; the loss is the same computation on the gathered projections.
//
// In lockstep: after each step the ranks take the one-process state (rank
// 0 runs both). Early training amplifies any rounding difference about
// thirtyfold a step (a 1e-6 relative change to the initial weights moves
// the loss by 1e-4 at the second step and 4e-3 at the fourth), so two free
// runs would compare that growth rather than the step.
func TestMPIMatchesOneProcess(t *testing.T) {
	if !underMPI() {
		t.Skip("runs under mpirun: tests/mpi-equivalence.sh")
	}
	comm := mpi.World()
	cfg := tinyConfig()
	cfg.Epochs, cfg.Batch, cfg.ProjHidden, cfg.ProjOut, cfg.Optimizer, cfg.LR = 1, 32, 128, 64, "sgd", 0.05
	data := realImages(t, 5*cfg.Batch)
	const steps = 5
	tr, err := NewDistributed(kern.Default(), cfg, data, comm)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	var one *Trainer
	if comm.Rank() == 0 {
		if one, err = New(kern.Default(), cfg, data); err != nil {
			t.Fatal(err)
		}
		defer one.Close()
	}
	for i := range steps {
		res, err := tr.TrainStep()
		if err != nil {
			t.Fatal(err)
		}
		if one != nil {
			compareStep(t, i+1, comm.Size(), res, tr, one)
		}
		if err := tr.follow(one); err != nil {
			t.Fatal(err)
		}
	}
}

// compareStep checks the step of tr against that of one, which takes it now.
func compareStep(t *testing.T, step, ranks int, res StepResult, tr, one *Trainer) {
	want, err := one.TrainStep()
	if err != nil {
		t.Fatal(err)
	}
	d := math.Abs(float64(res.Loss-want.Loss)) / float64(want.Loss)
	if d > 1e-5 {
		t.Errorf("step %d: loss %v on %d ranks, %v in one process", step, res.Loss, ranks, want.Loss)
	}
	report := fmt.Sprintf("step %d: loss %.7f on %d ranks, %.7f in one process (relative difference %.2g)", step, res.Loss, ranks, want.Loss, d)
	for _, part := range []struct {
		name  string
		limit float64
		a, b  []*nn.Tensor
	}{
		{"weights", 1e-5, tensorsOf(one.Enc.Params(), one.obj.state().Params), tensorsOf(tr.Enc.Params(), tr.obj.state().Params)},
		{"running statistics", 1e-5, append(one.Enc.Buffers(), one.obj.state().Buffers...), append(tr.Enc.Buffers(), tr.obj.state().Buffers...)},
		{"optimizer state", 1e-4, one.Opt.State(), tr.Opt.State()},
	} {
		worst, worstElem := 0.0, 0.0
		for i, a := range part.a {
			if strings.HasSuffix(a.Name, "projector.0.bias") || strings.HasSuffix(a.Name, "projector.3.bias") {
				continue // a bias before a batch norm: its gradient is zero, and rounding alone
			}
			norm, elem := relDiff(a.Data, part.b[i].Data)
			worst, worstElem = max(worst, norm), max(worstElem, elem)
			if norm > part.limit {
				t.Errorf("step %d: %s: ||a-b||/||a|| = %.2g", step, a.Name, norm)
			}
		}
		report += fmt.Sprintf("; %s: largest ||a-b||/||a|| %.2g, elementwise %.2g", part.name, worst, worstElem)
	}
	t.Log(report)
}

// follow has every rank take the state of one, rank 0's one-process
// trainer: its tensors, then broadcast.
func (t *Trainer) follow(one *Trainer) error {
	if one != nil {
		mine := t.state()
		ref := one.state()
		for i, p := range ref.Params {
			copy(mine.Params[i].Data, p.Data)
		}
		for i, b := range ref.Buffers {
			copy(mine.Buffers[i].Data, b.Data)
		}
	}
	return t.replicate()
}

func tensorsOf(ps ...[]*nn.Param) []*nn.Tensor {
	var ts []*nn.Tensor
	for _, p := range slices.Concat(ps...) {
		ts = append(ts, &p.Tensor)
	}
	return ts
}

// timedComm adds up the time spent in each kind of collective. Before
// each it waits for the other ranks, in a one-value all-reduce timed
// apart, so that the times are the collectives' own rather than a wait for
// a rank still computing.
type timedComm struct {
	dist.Comm
	one                     []float64
	grads, gather, bn, wait time.Duration
	bnCalls                 int
}

func (c *timedComm) meet() time.Time {
	start := time.Now()
	c.Comm.AllreduceSum64(c.one)
	now := time.Now()
	c.wait += now.Sub(start)
	return now
}

func (c *timedComm) AllreduceSum32(buf []float32) {
	start := c.meet()
	c.Comm.AllreduceSum32(buf)
	c.grads += time.Since(start)
}

func (c *timedComm) Allgather32(send, recv []float32) {
	start := c.meet()
	c.Comm.Allgather32(send, recv)
	c.gather += time.Since(start)
}

func (c *timedComm) AllreduceSum64(buf []float64) {
	start := c.meet()
	c.Comm.AllreduceSum64(buf)
	c.bn += time.Since(start)
	c.bnCalls++
}

// TestMPICommTime measures, per step of the reference model (ImageNet
// stem, 512-wide head) at SIMCLR_MPI_COMM_TIME images per global batch,
// the time each rank spends in the gradients' allreduce, the gather of
// the projections and the batch norms' allreduces, and apart from them
// the time it waits for the other ranks to reach each; then the time of
// the check at a checkpoint (InSync). The first step is a warm-up and not
// counted.
func TestMPICommTime(t *testing.T) {
	batch, err := strconv.Atoi(os.Getenv("SIMCLR_MPI_COMM_TIME"))
	if !underMPI() || err != nil {
		t.Skip("SIMCLR_MPI_COMM_TIME=BATCH under mpirun")
	}
	cfg := DefaultConfig()
	cfg.Batch, cfg.Epochs, cfg.WarmupEpochs = batch, 1, 0
	comm := &timedComm{Comm: mpi.World(), one: make([]float64, 1)}
	tr, err := NewDistributed(kern.Default(), cfg, synthetic(4*batch), comm)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	const counted = 3 // steps after the warm-up
	var wall time.Duration
	for i := range 1 + counted {
		if i == 1 {
			comm.grads, comm.gather, comm.bn, comm.wait, comm.bnCalls = 0, 0, 0, 0, 0
		}
		start := time.Now()
		if _, err := tr.TrainStep(); err != nil {
			t.Fatal(err)
		}
		if i > 0 {
			wall += time.Since(start)
		}
	}
	start := time.Now()
	if err := tr.InSync(); err != nil {
		t.Fatal(err)
	}
	check := time.Since(start)
	n := time.Duration(counted)
	params := len(tr.grads)
	t.Logf("rank %d of %d, batch %d (%d per rank), %d parameters (%.1f MB): per step %v; gradient allreduce %v, projection allgather %v, %d batch-norm allreduces %v; waiting for the other ranks %v; a checkpoint's InSync %v",
		comm.Rank(), comm.Size(), batch, batch/comm.Size(), params, float64(4*params)/1e6, (wall / n).Round(time.Millisecond),
		(comm.grads / n).Round(time.Microsecond), (comm.gather / n).Round(time.Microsecond), comm.bnCalls/counted, (comm.bn / n).Round(time.Microsecond), (comm.wait / n).Round(time.Millisecond), check.Round(time.Millisecond))
}

// A distributed training step allocates no more than one process's (whose
// feeder allocates a few per batch): the collectives pass the trainer's
// own buffers to MPI.
func TestMPIStepAllocations(t *testing.T) {
	if !underMPI() {
		t.Skip("runs under mpirun: tests/mpi-equivalence.sh")
	}
	cfg := tinyConfig()
	cfg.Batch = 8
	data := synthetic(4 * cfg.Batch)
	perStep := func(comm dist.Comm) float64 {
		tr, err := NewDistributed(kern.Default(), cfg, data, comm)
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		step := func() {
			runtime.GC() // as in nn's test: collections must not empty what is reused
			if _, err := tr.TrainStep(); err != nil {
				t.Fatal(err)
			}
		}
		step() // the first step starts the feeder
		return testing.AllocsPerRun(2, step)
	}
	one, ranks := perStep(nil), perStep(mpi.World())
	if ranks > one {
		t.Errorf("%g allocations per step on %d ranks, %g in one process", ranks, mpi.World().Size(), one)
	}
}
