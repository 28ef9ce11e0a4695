package nn

// Tensor is a named float32 array, row-major with the given shape.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// Param is a trainable tensor with its gradient, of the same shape.
type Param struct {
	Tensor
	Grad []float32
}

// Counter is an integer buffer (BatchNorm's num_batches_tracked), kept apart
// from Tensor so that checkpoints store it as int64 as PyTorch does.
type Counter struct {
	Name string
	N    int64
}

// Dims is a batch capacity N and the NHWC size of one image.
type Dims struct{ N, H, W, C int }

// Image is the number of values in one image.
func (d Dims) Image() int { return d.H * d.W * d.C }

// Window is a square convolution or pooling window.
type Window struct{ K, Stride, Pad int }

// out is the output length along an input side of length n (floor mode).
func (w Window) out(n int) int { return (n+2*w.Pad-w.K)/w.Stride + 1 }

func newTensor(name string, shape ...int) *Tensor {
	size := 1
	for _, s := range shape {
		size *= s
	}
	return &Tensor{Name: name, Shape: shape, Data: make([]float32, size)}
}

func newParam(name string, shape ...int) *Param {
	t := newTensor(name, shape...)
	return &Param{Tensor: *t, Grad: make([]float32, len(t.Data))}
}

// join prefixes a parameter name, leaving it bare under an empty prefix.
func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// ZeroGrads clears the gradients of ps.
func ZeroGrads(ps []*Param) {
	for _, p := range ps {
		clear(p.Grad)
	}
}
