// Package model assembles the SimCLR network from nn layers: the ResNet-18
// encoder f (512-d features) and the projection head g, with parameters
// named as torchvision's resnet18 state_dict (the head under "projector.").
package model

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/simclr-go/simclr/pkg/kern"
	"github.com/simclr-go/simclr/pkg/nn"
)

// Stems of the encoder: torchvision's ImageNet stem (7×7 stride-2 conv and a
// 3×3 stride-2 max pool, as the reference recipe used it), the SimCLR
// paper's CIFAR stem (3×3 stride-1 conv, no max pool), and between them the
// CIFAR stem's conv with the max pool kept: layer1 at 16×16 instead of 8×8
// or 32×32, about 4 times the ImageNet stem's cost and a quarter of the
// CIFAR stem's. The last two have the same tensors: a checkpoint says which
// it is (MetaStem).
const (
	StemImageNet  = "imagenet"
	StemCIFAR     = "cifar"
	StemCIFARPool = "cifar-pool"
)

// Stems lists them, for flags and messages.
var Stems = []string{StemImageNet, StemCIFAR, StemCIFARPool}

// ImageSize is the side of the square input images.
const ImageSize = 32

// FeatureDim is the width of the encoder's output.
const FeatureDim = 512

// Encoder is ResNet-18 without its classifier: stem, four stages of two
// BasicBlocks (64, 128, 256, 512 channels), global average pool.
type Encoder struct {
	Stem   string
	Eng    *kern.Engine // what it computes with
	Conv1  *nn.Conv2d
	BN1    *nn.BatchNorm
	Pool   *nn.MaxPool2d // nil for the CIFAR stem
	Blocks []*nn.BasicBlock
	maxN   int
	x      []float32 // the images of the last Forward: conv1's weight gradient needs them

	c1, r1, pooled []float32   // stem activations: conv1, relu(bn1), max pool
	acts           [][]float32 // block outputs
	feat           []float32   // [N][512]
	g1, g2         []float32   // backward ping-pong, sized for the largest activation
}

// NewEncoder builds the encoder for batches of up to maxN NHWC 32×32×3
// images, computed by eng.
func NewEncoder(stem string, maxN int, eng *kern.Engine) (*Encoder, error) {
	in := nn.Dims{N: maxN, H: ImageSize, W: ImageSize, C: 3}
	e := &Encoder{Stem: stem, Eng: eng, maxN: maxN}
	switch stem {
	case StemImageNet:
		e.Conv1 = nn.NewConv2d("conv1", in, 64, nn.Window{K: 7, Stride: 2, Pad: 3}, eng)
	case StemCIFAR, StemCIFARPool:
		e.Conv1 = nn.NewConv2d("conv1", in, 64, nn.Window{K: 3, Stride: 1, Pad: 1}, eng)
	default:
		return nil, fmt.Errorf("model: unknown stem %q (want %s)", stem, strings.Join(Stems, ", "))
	}
	d := e.Conv1.Out
	e.BN1 = nn.NewBatchNorm("bn1", d, eng)
	e.c1, e.r1 = make([]float32, maxN*d.Image()), make([]float32, maxN*d.Image())
	largest := d.Image()
	if stem != StemCIFAR {
		e.Pool = nn.NewMaxPool2d(d, nn.Window{K: 3, Stride: 2, Pad: 1}, eng)
		d = e.Pool.Out
		e.pooled = make([]float32, maxN*d.Image())
	}
	for stage, planes := range []int{64, 128, 256, 512} {
		for i := range 2 {
			stride := 1
			if stage > 0 && i == 0 {
				stride = 2
			}
			b := nn.NewBasicBlock(fmt.Sprintf("layer%d.%d", stage+1, i), d, planes, stride, eng)
			e.Blocks = append(e.Blocks, b)
			d = b.Out
			e.acts = append(e.acts, make([]float32, maxN*d.Image()))
			largest = max(largest, b.In.Image())
		}
	}
	e.feat = make([]float32, maxN*FeatureDim)
	e.g1, e.g2 = make([]float32, maxN*largest), make([]float32, maxN*largest)
	return e, nil
}

// Init draws the weights as torchvision does: Kaiming-normal (fan_out) for
// convolutions; batch norms keep weight 1 and bias 0.
func (e *Encoder) Init(r *rand.Rand) {
	e.Conv1.InitKaiming(r)
	for _, b := range e.Blocks {
		b.InitKaiming(r)
	}
}

// Params lists the trainable tensors in state_dict order.
func (e *Encoder) Params() []*nn.Param {
	ps := append([]*nn.Param{e.Conv1.Weight}, e.BN1.Params()...)
	for _, b := range e.Blocks {
		ps = append(ps, b.Params()...)
	}
	return ps
}

// Buffers lists the batch norms' running statistics.
func (e *Encoder) Buffers() []*nn.Tensor {
	ts := e.BN1.Buffers()
	for _, b := range e.Blocks {
		ts = append(ts, b.Buffers()...)
	}
	return ts
}

// Counters lists the batch norms' num_batches_tracked.
func (e *Encoder) Counters() []*nn.Counter {
	cs := e.BN1.Counters()
	for _, b := range e.Blocks {
		cs = append(cs, b.Counters()...)
	}
	return cs
}

// SetTrain switches every batch norm between batch statistics (training)
// and running statistics (evaluation).
func (e *Encoder) SetTrain(train bool) {
	e.BN1.Train = train
	for _, b := range e.Blocks {
		b.SetTrain(train)
	}
}

// Forward runs n images x ([n][32][32][3]) and returns their features
// ([n][512]), valid until the next Forward.
func (e *Encoder) Forward(x []float32, n int) []float32 {
	e.x = x
	e.Conv1.Forward(e.c1, x, n)
	e.BN1.ForwardReLU(e.r1, e.c1, n)
	h := e.r1
	if e.Pool != nil {
		e.Pool.Forward(e.pooled, h, n)
		h = e.pooled
	}
	for i, b := range e.Blocks {
		b.Forward(e.acts[i], h, n)
		h = e.acts[i]
	}
	last := e.Blocks[len(e.Blocks)-1].Out
	nn.AvgPoolForward(e.Eng, e.feat, h, n, last.H*last.W, last.C)
	return e.feat[:n*FeatureDim]
}

// Backward adds every parameter's gradient given dfeat, the gradient of the
// features of the last Forward. The images need no gradient.
func (e *Encoder) Backward(dfeat []float32, n int) {
	last := e.Blocks[len(e.Blocks)-1].Out
	dy, dx := e.g1, e.g2
	nn.AvgPoolBackward(e.Eng, dy, dfeat, n, last.H*last.W, last.C)
	for i := len(e.Blocks) - 1; i >= 0; i-- {
		in := e.r1
		if i > 0 {
			in = e.acts[i-1]
		} else if e.Pool != nil {
			in = e.pooled
		}
		e.Blocks[i].Backward(dx, dy, in, e.acts[i], n)
		dy, dx = dx, dy
	}
	if e.Pool != nil {
		e.Pool.Backward(dx, dy, e.r1, e.pooled, n)
		dy, dx = dx, dy
	}
	m := n * e.Conv1.Out.Image()
	nn.ReLUBackward(e.Eng, dy[:m], dy, e.r1)
	e.BN1.Backward(dy, dy, e.c1, n)
	e.Conv1.Backward(nil, dy, e.x, n, false)
}

// BatchNorms lists the batch norms, for setting their Group.
func (e *Encoder) BatchNorms() []*nn.BatchNorm {
	bns := []*nn.BatchNorm{e.BN1}
	for _, b := range e.Blocks {
		bns = append(bns, b.BN1, b.BN2)
		if b.DownBN != nil {
			bns = append(bns, b.DownBN)
		}
	}
	return bns
}
