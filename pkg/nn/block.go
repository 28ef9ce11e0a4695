package nn

import (
	"math/rand/v2"

	"github.com/simclr-go/simclr/pkg/kern"
)

// BasicBlock is torchvision's ResNet BasicBlock:
//
//	y = relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))
//
// with 3×3 convolutions, the first of stride Stride, and shortcut the identity,
// or a 1×1 stride-Stride convolution and batch norm (downsample.0 and
// downsample.1) when the stride or the channel count changes.
type BasicBlock struct {
	Conv1, Conv2 *Conv2d
	BN1, BN2     *BatchNorm
	DownConv     *Conv2d    // nil for an identity shortcut
	DownBN       *BatchNorm // nil for an identity shortcut
	In, Out      Dims
	// Scratch is the block's working memory within a call: the blocks of a
	// network run one at a time and may share one, saving three
	// activation-sized buffers per block.
	Scratch *Scratch

	a1, r1, a2, ad []float32 // activations kept for Backward: conv1, relu(bn1), conv2, downsample conv
	eng            *kern.Engine
}

// NewBasicBlock builds a block from in.C to planes channels for up to in.N
// images of in.H×in.W, computed by eng. Convolution weights are zero until
// initialised or loaded.
func NewBasicBlock(name string, in Dims, planes, stride int, eng *kern.Engine) *BasicBlock {
	b := &BasicBlock{In: in, Scratch: new(Scratch), eng: eng}
	b.Conv1 = NewConv2d(join(name, "conv1"), in, planes, Window{K: 3, Stride: stride, Pad: 1}, eng)
	b.Out = b.Conv1.Out
	b.BN1 = NewBatchNorm(join(name, "bn1"), b.Out, eng)
	b.Conv2 = NewConv2d(join(name, "conv2"), b.Out, planes, Window{K: 3, Stride: 1, Pad: 1}, eng)
	b.BN2 = NewBatchNorm(join(name, "bn2"), b.Out, eng)
	size := in.N * b.Out.Image()
	buf := func() []float32 { return make([]float32, size) }
	b.a1, b.r1, b.a2 = buf(), buf(), buf()
	if stride != 1 || in.C != planes {
		b.DownConv = NewConv2d(join(name, "downsample.0"), in, planes, Window{K: 1, Stride: stride}, eng)
		b.DownBN = NewBatchNorm(join(name, "downsample.1"), b.Out, eng)
		b.ad = buf()
	}
	return b
}

// convs and bns list the layers in state_dict order, convs()[i] feeding bns()[i].
func (b *BasicBlock) convs() []*Conv2d {
	if b.DownConv == nil {
		return []*Conv2d{b.Conv1, b.Conv2}
	}
	return []*Conv2d{b.Conv1, b.Conv2, b.DownConv}
}

func (b *BasicBlock) bns() []*BatchNorm {
	if b.DownBN == nil {
		return []*BatchNorm{b.BN1, b.BN2}
	}
	return []*BatchNorm{b.BN1, b.BN2, b.DownBN}
}

// Params returns the parameters of all layers in state_dict order.
func (b *BasicBlock) Params() []*Param {
	var ps []*Param
	bns := b.bns()
	for i, c := range b.convs() {
		ps = append(append(ps, c.Weight), bns[i].Params()...)
	}
	return ps
}

// InitKaiming initialises the convolutions as torchvision does; the batch
// norms keep weight 1 and bias 0.
func (b *BasicBlock) InitKaiming(r *rand.Rand) {
	for _, c := range b.convs() {
		c.InitKaiming(r)
	}
}

// Buffers returns the running statistics of the batch norms.
func (b *BasicBlock) Buffers() []*Tensor {
	var ts []*Tensor
	for _, bn := range b.bns() {
		ts = append(ts, bn.Buffers()...)
	}
	return ts
}

// Counters returns num_batches_tracked of the batch norms.
func (b *BasicBlock) Counters() []*Counter {
	var cs []*Counter
	for _, bn := range b.bns() {
		cs = append(cs, bn.Counters()...)
	}
	return cs
}

// SetTrain puts the batch norms in training (true) or eval mode.
func (b *BasicBlock) SetTrain(train bool) {
	for _, bn := range b.bns() {
		bn.Train = train
	}
}

// Forward computes the block. y must not alias x.
//
//	y: [n][OutH][OutW][planes]
//	x: [n][H][W][Cin]
func (b *BasicBlock) Forward(y, x []float32, n int) {
	checkBatch(n, b.In.N)
	m := n * b.Out.Image()
	x, y = need("block input", x, n*b.In.Image()), need("block output", y, m)
	a1, r1, a2 := b.a1[:m], b.r1[:m], b.a2[:m]
	b.Conv1.Forward(a1, x, n)
	b.BN1.ForwardReLU(r1, a1, n)
	b.Conv2.Forward(a2, r1, n)
	shortcut := x
	if b.DownConv != nil {
		shortcut = b.Scratch.get(m)
		b.DownConv.Forward(b.ad[:m], x, n)
		b.DownBN.Forward(shortcut, b.ad[:m], n)
	}
	b.BN2.ForwardAddReLU(y, a2, shortcut, n)
}

// Backward adds the gradients of all parameters and writes dx.
//
//	dx: [n][H][W][Cin]
//	dy: [n][OutH][OutW][planes]
//	x:  [n][H][W][Cin], the input of Forward
//	y:  [n][OutH][OutW][planes], the output of Forward
func (b *BasicBlock) Backward(dx, dy, x, y []float32, n int) {
	checkBatch(n, b.In.N)
	m := n * b.Out.Image()
	dx = need("block input gradient", dx, n*b.In.Image())
	tmp := b.Scratch.get(3 * m)
	g, d1, d2 := tmp[:m], tmp[m:2*m], tmp[2*m:]
	ReLUBackward(b.eng, g, dy, y) // g: gradient of the sum, shared by both branches
	b.BN2.Backward(d2, g, b.a2[:m], n)
	b.Conv2.Backward(d1, d2, b.r1[:m], n, false)
	ReLUBackward(b.eng, d1, d1, b.r1[:m])
	b.BN1.Backward(d2, d1, b.a1[:m], n)
	if b.DownConv == nil {
		copy(dx, g)
		b.Conv1.Backward(dx, d2, x, n, true)
		return
	}
	// The downsample reads a quarter of the pixels: adding its gradient
	// onto conv1's touches only those.
	b.Conv1.Backward(dx, d2, x, n, false)
	b.DownBN.Backward(d1, g, b.ad[:m], n)
	b.DownConv.Backward(dx, d1, x, n, true)
}

// Scratch is working memory that grows to the largest request and is then
// reused, so it allocates only on first use.
type Scratch struct{ buf []float32 }

// get returns n values of scratch, valid until the next get.
func (s *Scratch) get(n int) []float32 {
	if len(s.buf) < n {
		s.buf = make([]float32, n)
	}
	return s.buf[:n]
}
