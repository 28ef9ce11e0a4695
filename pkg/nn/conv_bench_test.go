package nn

import (
	"math/rand/v2"
	"testing"
)

// convLayer is one distinct convolution of ResNet-18 on 32×32 images.
type convLayer struct {
	name      string
	hw, cin   int // input side and channels
	cout      int
	k, stride int
}

// resnet18Convs lists the distinct convolutions of both stems; the same
// list is timed in PyTorch by bench/torch_conv_layers.py.
var resnet18Convs = []convLayer{
	{"imagenet/conv1", 32, 3, 64, 7, 2},
	{"imagenet/layer1", 8, 64, 64, 3, 1},
	{"imagenet/layer2.0.conv1", 8, 64, 128, 3, 2},
	{"imagenet/layer2", 4, 128, 128, 3, 1},
	{"imagenet/layer2.0.downsample", 8, 64, 128, 1, 2},
	{"imagenet/layer3.0.conv1", 4, 128, 256, 3, 2},
	{"imagenet/layer3", 2, 256, 256, 3, 1},
	{"imagenet/layer3.0.downsample", 4, 128, 256, 1, 2},
	{"imagenet/layer4.0.conv1", 2, 256, 512, 3, 2},
	{"imagenet/layer4", 1, 512, 512, 3, 1},
	{"imagenet/layer4.0.downsample", 2, 256, 512, 1, 2},
	{"cifar/conv1", 32, 3, 64, 3, 1},
	{"cifar/layer1", 32, 64, 64, 3, 1},
	{"cifar/layer2.0.conv1", 32, 64, 128, 3, 2},
	{"cifar/layer2", 16, 128, 128, 3, 1},
	{"cifar/layer2.0.downsample", 32, 64, 128, 1, 2},
	{"cifar/layer3.0.conv1", 16, 128, 256, 3, 2},
	{"cifar/layer3", 8, 256, 256, 3, 1},
	{"cifar/layer3.0.downsample", 16, 128, 256, 1, 2},
	{"cifar/layer4.0.conv1", 8, 256, 512, 3, 2},
	{"cifar/layer4", 4, 512, 512, 3, 1},
	{"cifar/layer4.0.downsample", 8, 256, 512, 1, 2},
}

// BenchmarkConvLayers times forward plus backward (input and weight
// gradients) of each distinct ResNet-18 convolution at 512 views.
func BenchmarkConvLayers(b *testing.B) {
	for _, l := range resnet18Convs {
		b.Run(l.name, func(b *testing.B) { benchConv(b, l) })
	}
}

// BenchmarkConvDirect times the convolutions that can run directly both
// ways, directly and through im2col: the measurement behind useDirect.
func BenchmarkConvDirect(b *testing.B) {
	defer func(direct bool) { useDirect = direct }(useDirect)
	for _, l := range resnet18Convs {
		in := Dims{H: l.hw, W: l.hw, C: l.cin}
		if !canDirect(in, l.cout, Window{K: l.k, Stride: l.stride, Pad: l.k / 2}) {
			continue
		}
		for _, direct := range []bool{false, true} {
			name := l.name + "/im2col"
			if direct {
				name = l.name + "/direct"
			}
			b.Run(name, func(b *testing.B) {
				useDirect = direct
				benchConv(b, l)
			})
		}
	}
}

func benchConv(b *testing.B, l convLayer) {
	const n = 512
	in := Dims{N: n, H: l.hw, W: l.hw, C: l.cin}
	c := NewConv2d("", in, l.cout, Window{K: l.k, Stride: l.stride, Pad: l.k / 2}, eng)
	r := rand.New(rand.NewPCG(1, 2))
	c.InitKaiming(r)
	x := randSlice(r, n*in.Image())
	y := make([]float32, n*c.Out.Image())
	dy := randSlice(r, len(y))
	dx := make([]float32, len(x))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Forward(y, x, n)
		c.Backward(dx, dy, x, n, false)
	}
	flops := 3 * 2 * float64(n*c.Out.H*c.Out.W) * float64(l.cout) * float64(l.k*l.k*l.cin)
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
