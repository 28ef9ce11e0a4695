package nn

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"testing"
)

// Golden tests against PyTorch. testdata/golden.py (run with Debian's
// python3-torch) wrote testdata/golden.{bin,json}: per case the input x,
// the parameters and initial BatchNorm buffers ("<name>.0"), the output y, a
// fixed upstream gradient dy, and the gradients dx and "<param>.grad" and the
// buffers after one step. Fixtures are NCHW/OIHW and converted here.
// Tolerance: |got-want| <= 1e-4*max(1,|want|).

const goldenTol = 1e-4

type goldenFile struct {
	index map[string]struct {
		Offset int
		Shape  []int
	}
	data []float32
	used map[string]bool
}

func loadGolden(t *testing.T) *goldenFile {
	t.Helper()
	g := &goldenFile{used: map[string]bool{}}
	js, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(js, &g.index); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("testdata/golden.bin")
	if err != nil {
		t.Fatal(err)
	}
	g.data = make([]float32, len(raw)/4)
	for i := range g.data {
		g.data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return g
}

// get returns a fixture tensor in the package's layout: 4-d activations
// NCHW -> NHWC, and with weight set, 4-d weights OIHW -> OHWI.
func (g *goldenFile) get(t *testing.T, name string, weight bool) []float32 {
	t.Helper()
	e, ok := g.index[name]
	if !ok {
		t.Fatalf("fixture %s missing", name)
	}
	g.used[name] = true
	size := 1
	for _, s := range e.Shape {
		size *= s
	}
	src := g.data[e.Offset : e.Offset+size]
	if len(e.Shape) != 4 {
		return src
	}
	dst := make([]float32, size)
	s := e.Shape
	if weight {
		WeightFromOIHW(dst, src, s[0], s[1], s[2])
		return dst
	}
	n, c, hw := s[0], s[1], s[2]*s[3]
	for i := range n {
		for j := range c {
			for p := range hw {
				dst[(i*hw+p)*c+j] = src[(i*c+j)*hw+p]
			}
		}
	}
	return dst
}

// dims reads the Dims of a fixture input: [N,C,H,W] or [N,C].
func (g *goldenFile) dims(name string) Dims {
	s := g.index[name].Shape
	if len(s) == 2 {
		return Dims{N: s[0], H: 1, W: 1, C: s[1]}
	}
	return Dims{N: s[0], H: s[2], W: s[3], C: s[1]}
}

// goldenLayer is one layer or block set up for a fixture case.
type goldenLayer struct {
	params   []*Param
	buffers  []*Tensor
	counters []*Counter
	fwd      func(y, x []float32, n int)
	bwd      func(dx, dy, x, y []float32, n int)
}

func fromBatchNorm(b *BatchNorm) goldenLayer {
	return goldenLayer{
		params: b.Params(), buffers: b.Buffers(), counters: b.Counters(),
		fwd: b.Forward,
		bwd: func(dx, dy, x, _ []float32, n int) { b.Backward(dx, dy, x, n) },
	}
}

func TestGolden(t *testing.T) {
	conv := func(cout int, win Window) func(Dims) goldenLayer {
		return func(in Dims) goldenLayer {
			c := NewConv2d("", in, cout, win, eng)
			return goldenLayer{
				params: c.Params(), fwd: c.Forward,
				bwd: func(dx, dy, x, _ []float32, n int) { c.Backward(dx, dy, x, n, false) },
			}
		}
	}
	bn := func(train bool) func(Dims) goldenLayer {
		return func(in Dims) goldenLayer {
			b := NewBatchNorm("", in, eng)
			b.Train = train
			return fromBatchNorm(b)
		}
	}
	fromBlock := func(b *BasicBlock) goldenLayer {
		return goldenLayer{params: b.Params(), buffers: b.Buffers(), counters: b.Counters(), fwd: b.Forward, bwd: b.Backward}
	}
	block := func(planes, stride int) func(Dims) goldenLayer {
		return func(in Dims) goldenLayer { return fromBlock(NewBasicBlock("", in, planes, stride, eng)) }
	}
	cases := []struct {
		name  string
		build func(in Dims) goldenLayer
	}{
		{"conv7x7s2", conv(4, Window{K: 7, Stride: 2, Pad: 3})},
		{"conv3x3s1", conv(5, Window{K: 3, Stride: 1, Pad: 1})},
		{"conv3x3s2", conv(6, Window{K: 3, Stride: 2, Pad: 1})},
		{"conv1x1s2", conv(6, Window{K: 1, Stride: 2})},
		{"conv1x1s1", conv(6, Window{K: 1, Stride: 1})},
		{"bn2d_train", bn(true)},
		{"bn2d_eval", bn(false)},
		{"bn1d_train", bn(true)},
		{"maxpool", func(in Dims) goldenLayer {
			p := NewMaxPool2d(in, Window{K: 3, Stride: 2, Pad: 1}, eng)
			return goldenLayer{fwd: p.Forward, bwd: func(dx, dy, x, y []float32, n int) { p.Backward(dx, dy, x, y, n) }}
		}},
		{"avgpool", func(in Dims) goldenLayer {
			hw := in.H * in.W
			return goldenLayer{
				fwd: func(y, x []float32, n int) { AvgPoolForward(eng, y, x, n, hw, in.C) },
				bwd: func(dx, dy, _, _ []float32, n int) { AvgPoolBackward(eng, dx, dy, n, hw, in.C) },
			}
		}},
		{"linear", func(in Dims) goldenLayer {
			l := NewLinear("", in.C, 4, eng)
			return goldenLayer{params: l.Params(), fwd: l.Forward, bwd: func(dx, dy, x, _ []float32, n int) { l.Backward(dx, dy, x, n) }}
		}},
		{"relu", func(Dims) goldenLayer {
			return goldenLayer{
				fwd: func(y, x []float32, _ int) { ReLUForward(eng, y, x) },
				bwd: func(dx, dy, _, y []float32, _ int) { ReLUBackward(eng, dx, dy, y) },
			}
		}},
		{"block", block(4, 1)},
		{"block_down", block(8, 2)},
		{"block_down_direct", func(in Dims) goldenLayer {
			b := NewBasicBlock("", in, 32, 2, eng)
			if !b.Conv1.direct || !b.Conv2.direct || !b.DownConv.strided(in.N) {
				t.Fatal("the 3×3 convolutions do not run directly, or the downsample not in chunks")
			}
			return fromBlock(b)
		}},
	}
	g := loadGolden(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			get := func(name string, weight bool) []float32 { return g.get(t, tc.name+"/"+name, weight) }
			in := g.dims(tc.name + "/x")
			l := tc.build(in)
			for _, p := range l.params {
				copy(p.Data, get(p.Name, true))
			}
			for _, b := range l.buffers {
				copy(b.Data, get(b.Name+".0", false))
			}
			x, want := get("x", false), get("y", false)
			y := make([]float32, len(want))
			l.fwd(y, x, in.N)
			expectGolden(t, "y", y, want)
			dx := make([]float32, len(x))
			l.bwd(dx, get("dy", false), x, y, in.N)
			expectGolden(t, "dx", dx, get("dx", false))
			for _, p := range l.params {
				expectGolden(t, p.Name+".grad", p.Grad, get(p.Name+".grad", true))
			}
			for _, b := range l.buffers {
				expectGolden(t, b.Name, b.Data, get(b.Name, false))
			}
			for _, c := range l.counters {
				if want := get(c.Name, false)[0]; float32(c.N) != want {
					t.Errorf("%s = %d, want %g", c.Name, c.N, want)
				}
			}
		})
	}
	// Every tensor the script wrote must have been compared or used.
	for name := range g.index {
		if !g.used[name] {
			t.Errorf("fixture %s unused", name)
		}
	}
}

func expectGolden(t *testing.T, what string, got, want []float32) {
	t.Helper()
	expectClose(t, what, got, to64(want), goldenTol)
}
