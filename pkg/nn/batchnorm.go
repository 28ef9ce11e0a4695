package nn

import (
	"fmt"
	"math"

	"github.com/simclr-go/simclr/pkg/kern"
)

// bnBlock is the number of rows per partial sum in BatchNorm's reductions. It
// is fixed, not derived from the thread count, and the partial sums are added
// in block order, so the statistics are the same for any thread count.
const bnBlock = 64

// BatchNorm normalises each channel of NHWC activations, as PyTorch's
// BatchNorm2d, or BatchNorm1d on [N][C] features (Dims with H = W = 1): the
// statistics run over the N*H*W rows of C channels.
//
// In training mode (Train, the default) it normalises with the biased batch
// variance and updates the running statistics with the unbiased one; in eval
// mode it normalises with the running statistics.
//
// With a Group it is synchronised batch norm, as PyTorch's SyncBatchNorm:
// each member of the group holds some of the rows, and the training-mode
// statistics and their gradient are those of all the members' rows
// together. The weight and bias gradients stay each member's own part, to
// be added up with the other parameters' gradients.
type BatchNorm struct {
	Weight, Bias            *Param  // [C], gamma and beta
	RunningMean, RunningVar *Tensor // [C]
	NumBatchesTracked       *Counter
	Momentum, Eps           float64
	Train                   bool
	In                      Dims
	// Group, when set, adds the sums of every training-mode pass over the
	// members (who all call Forward and Backward in the same order).
	Group Allreducer
	eng   *kern.Engine

	batchStats bool      // whether the last Forward used batch statistics
	rows       float64   // the rows of those statistics, every member's
	mean, rstd []float32 // [C], the statistics of the last Forward
	coef       []float32 // [3][C], per-channel factors of a pass
	sums       []float64 // the row count, then [2][C] reduced sums
	partial    []float32 // [blocks][2][C], per-block sums

	// The loop bodies of a pass, kept here so that they reach the workers
	// without allocating; set for the pass and cleared after it.
	fwd bnForward
	red bnReduce
	bwd bnBackward
}

// NewBatchNorm builds a batch norm over in.C channels for up to in.N images of
// in.H×in.W, computed by eng, with PyTorch's defaults: weight 1, bias 0,
// running mean 0 and variance 1, momentum 0.1, eps 1e-5, training mode.
func NewBatchNorm(name string, in Dims, eng *kern.Engine) *BatchNorm {
	c := in.C
	b := &BatchNorm{
		Weight:            newParam(join(name, "weight"), c),
		Bias:              newParam(join(name, "bias"), c),
		RunningMean:       newTensor(join(name, "running_mean"), c),
		RunningVar:        newTensor(join(name, "running_var"), c),
		NumBatchesTracked: &Counter{Name: join(name, "num_batches_tracked")},
		Momentum:          0.1,
		Eps:               1e-5,
		Train:             true,
		In:                in,
		eng:               eng,
		mean:              make([]float32, c),
		rstd:              make([]float32, c),
		coef:              make([]float32, 3*c),
		sums:              make([]float64, 1+2*c),
		partial:           make([]float32, (in.N*in.H*in.W+bnBlock-1)/bnBlock*2*c),
	}
	for i := range c {
		b.Weight.Data[i] = 1
		b.RunningVar.Data[i] = 1
	}
	return b
}

// Allreducer sums vectors element-wise over a group of processes, in
// place, each member getting the same sums; dist.Comm is one.
type Allreducer interface{ AllreduceSum64([]float64) }

// allreduce adds v over the group, if there is one.
func (b *BatchNorm) allreduce(v []float64) {
	if b.Group != nil {
		b.Group.AllreduceSum64(v)
	}
}

// Params returns weight and bias.
func (b *BatchNorm) Params() []*Param { return []*Param{b.Weight, b.Bias} }

// Buffers returns the running mean and variance.
func (b *BatchNorm) Buffers() []*Tensor { return []*Tensor{b.RunningMean, b.RunningVar} }

// Counters returns num_batches_tracked.
func (b *BatchNorm) Counters() []*Counter { return []*Counter{b.NumBatchesTracked} }

// Forward normalises x into y; in training mode it also updates the running
// statistics and num_batches_tracked. y may alias x only if Backward will
// not be called (Backward needs x).
//
//	y: [n][H][W][C]
//	x: [n][H][W][C]
func (b *BatchNorm) Forward(y, x []float32, n int) { b.forward(y, x, nil, n, false) }

// ForwardReLU is Forward followed by ReLU, in one pass: y = max(bn(x), 0).
func (b *BatchNorm) ForwardReLU(y, x []float32, n int) { b.forward(y, x, nil, n, true) }

// ForwardAddReLU ends a residual block in one pass: y = max(bn(x) + res, 0).
// y may alias res.
func (b *BatchNorm) ForwardAddReLU(y, x, res []float32, n int) { b.forward(y, x, res, n, true) }

func (b *BatchNorm) forward(y, x, res []float32, n int, relu bool) {
	checkBatch(n, b.In.N)
	c, rows := b.In.C, n*b.In.H*b.In.W
	x = need("batchnorm input", x, rows*c)
	y = need("batchnorm output", y, rows*c)
	if res != nil {
		res = need("batchnorm residual", res, rows*c)
	}
	b.batchStats = b.Train
	if b.Train {
		b.batchStatistics(x, rows)
	} else {
		for j := range c {
			b.mean[j] = b.RunningMean.Data[j]
			b.rstd[j] = float32(1 / math.Sqrt(float64(b.RunningVar.Data[j])+b.Eps))
		}
	}
	// y = x*scale + shift with scale = gamma*rstd, shift = beta - mean*scale.
	scale, shift := b.coef[:c], b.coef[c:2*c]
	for j := range c {
		scale[j] = b.Weight.Data[j] * b.rstd[j]
		shift[j] = b.Bias.Data[j] - b.mean[j]*scale[j]
	}
	b.fwd = bnForward{e: b.eng, y: y, x: x, res: res, scale: scale, shift: shift, relu: relu}
	parallel(b.eng, rows, rows*c, &b.fwd)
	b.fwd = bnForward{}
}

// bnForward is y = x*scale + shift over rows [lo, hi), then the residual
// and ReLU.
type bnForward struct {
	e                       *kern.Engine
	y, x, res, scale, shift []float32
	relu                    bool
}

func (t *bnForward) Run(lo, hi int) {
	c := len(t.scale)
	if t.res != nil {
		t.e.ScaleShiftAddReLU(t.y[lo*c:hi*c], t.x[lo*c:hi*c], t.res[lo*c:hi*c], t.scale, t.shift)
		return
	}
	t.e.ScaleShift(t.y[lo*c:hi*c], t.x[lo*c:hi*c], t.scale, t.shift, t.relu)
}

// batchStatistics sets mean and rstd from the rows of x and folds them into
// the running statistics.
func (b *BatchNorm) batchStatistics(x []float32, rows int) {
	c := b.In.C
	sum, _ := b.reduce(bnReduce{x: x}, rows)
	b.sums[0] = float64(rows)
	b.allreduce(b.sums[:1+c]) // the row count and the sums of x
	n := b.sums[0]
	if n < 2 {
		panic(fmt.Sprintf("nn: batchnorm %s needs more than one value per channel in training", b.Weight.Name))
	}
	b.rows = n
	for j := range c {
		b.mean[j] = float32(sum[j] / n)
	}
	// Second pass around the mean: more accurate than E[x²]-E[x]².
	mean := b.mean
	_, sq := b.reduce(bnReduce{x: x, mean: mean}, rows)
	b.allreduce(sq)
	m := b.Momentum
	for j := range c {
		b.rstd[j] = float32(1 / math.Sqrt(sq[j]/n+b.Eps))
		unbiased := sq[j] / (n - 1)
		b.RunningMean.Data[j] = float32((1-m)*float64(b.RunningMean.Data[j]) + m*float64(mean[j]))
		b.RunningVar.Data[j] = float32((1-m)*float64(b.RunningVar.Data[j]) + m*unbiased)
	}
	b.NumBatchesTracked.N++
}

// Backward adds the weight and bias gradients and writes dx. After a
// training-mode Forward the batch statistics depend on x, which adds two
// terms; after an eval-mode one they are constants and dx = gamma*rstd*dy.
// dx may alias dy.
//
//	dx: [n][H][W][C]
//	dy: [n][H][W][C]
//	x:  [n][H][W][C], the input of Forward
func (b *BatchNorm) Backward(dx, dy, x []float32, n int) {
	checkBatch(n, b.In.N)
	c, rows := b.In.C, n*b.In.H*b.In.W
	x = need("batchnorm input", x, rows*c)
	dy = need("batchnorm output gradient", dy, rows*c)
	dx = need("batchnorm input gradient", dx, rows*c)
	mean, rstd := b.mean, b.rstd
	sdy, sdyx := b.reduce(bnReduce{dy: dy, x: x, mean: mean}, rows)
	// The parameter gradients take this member's rows only: the trainer
	// adds them up over the group as it does every parameter's.
	for j := range c {
		b.Bias.Grad[j] += float32(sdy[j])
		b.Weight.Grad[j] += float32(sdyx[j] * float64(rstd[j]))
	}
	if b.batchStats {
		b.allreduce(b.sums[1:]) // dx depends on every member's rows
	}
	// With xhat = (x-mean)*rstd, u = mean(dy) and v = mean(dy*xhat) after
	// batch statistics (0 after running ones), and k = gamma*rstd:
	// dx = k*(dy - u - xhat*v) = k*dy + a*x + e, a = -k*v*rstd, e = -k*u - a*mean.
	k, a, e := b.coef[:c], b.coef[c:2*c], b.coef[2*c:]
	for j := range c {
		r := float64(rstd[j])
		var u, v float64
		if b.batchStats {
			u, v = sdy[j]/b.rows, sdyx[j]*r/b.rows
		}
		kj := float64(b.Weight.Data[j]) * r
		aj := -kj * v * r
		k[j], a[j], e[j] = float32(kj), float32(aj), float32(-kj*u-aj*float64(mean[j]))
	}
	b.bwd = bnBackward{eng: b.eng, dx: dx, dy: dy, x: x, k: k, a: a, e: e}
	parallel(b.eng, rows, rows*c, &b.bwd)
	b.bwd = bnBackward{}
}

// bnBackward is dx = k*dy + a*x + e over rows [lo, hi).
type bnBackward struct {
	eng                *kern.Engine
	dx, dy, x, k, a, e []float32
}

func (t *bnBackward) Run(lo, hi int) {
	c := len(t.k)
	t.eng.Affine2(t.dx[lo*c:hi*c], t.dy[lo*c:hi*c], t.x[lo*c:hi*c], t.k, t.a, t.e)
}

// reduce sums over rows [0, rows) into two [C] accumulators: r sums the
// rows of one fixed block into its own float32 s and t, and the blocks are
// then added in order in float64. The returned slices are valid until the
// next reduce.
func (b *BatchNorm) reduce(r bnReduce, rows int) (s, t []float64) {
	c := b.In.C
	blocks := (rows + bnBlock - 1) / bnBlock
	part := b.partial[:blocks*2*c]
	clear(part)
	r.e, r.part, r.rows, r.c = b.eng, part, rows, c
	b.red = r
	parallel(b.eng, blocks, rows*c, &b.red)
	b.red = bnReduce{}
	s, t = b.sums[1:1+c], b.sums[1+c:]
	clear(b.sums)
	for blk := range blocks {
		p := part[blk*2*c:]
		for j := range c {
			s[j] += float64(p[j])
			t[j] += float64(p[c+j])
		}
	}
	return s, t
}

// bnReduce sums blocks [lo, hi) of bnBlock rows into part, [2][C] a block:
// with dy, the sums of dy and dy*(x-mean) (Backward); else those of x and,
// with mean, of (x-mean)² (the statistics).
type bnReduce struct {
	e                 *kern.Engine
	dy, x, mean, part []float32
	rows, c           int
}

func (r *bnReduce) Run(lo, hi int) {
	c := r.c
	for blk := lo; blk < hi; blk++ {
		p := r.part[blk*2*c:]
		s, t := p[:c], p[c:2*c]
		r0, r1 := blk*bnBlock, min((blk+1)*bnBlock, r.rows)
		x := r.x[r0*c : r1*c]
		switch {
		case r.dy != nil:
			r.e.ChannelDots(s, t, r.dy[r0*c:r1*c], x, r.mean)
		case r.mean != nil:
			r.e.ChannelSums(s, t, x, r.mean)
		default:
			r.e.ChannelSums(s, nil, x, nil)
		}
	}
}
