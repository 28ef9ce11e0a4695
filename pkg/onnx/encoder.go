package onnx

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/simclr-go/simclr/pkg/atomicfile"
	"github.com/simclr-go/simclr/pkg/augment"
	"github.com/simclr-go/simclr/pkg/model"
	"github.com/simclr-go/simclr/pkg/nn"
)

// The encoder model's contract: the ONNX version it targets, and the names
// of its input, output and batch dimension.
const (
	// Opset is the ai.onnx operator set: 17 (ONNX 1.12, 2022), which
	// onnxruntime has run since 1.12. The graph's operators (Conv, Relu,
	// Add, MaxPool, GlobalAveragePool, Flatten) compute the same on float32
	// in every opset from 13 to the newest; later versions only add types.
	Opset = 17
	// IRVersion is the file format version that goes with opset 17.
	IRVersion = 8

	InputName  = "input"    // float32 [N][3][32][32], normalised (see Normalisation)
	OutputName = "features" // float32 [N][512]
	BatchDim   = "N"        // the symbolic batch dimension of both
)

// Normalisation says in words what the input must be: the images as the
// tools feed them to the encoder (augment.ToNHWC with the run's channel
// statistics), in NCHW order.
func Normalisation(mean, std [augment.Channels]float32) string {
	return fmt.Sprintf("RGB, NCHW, each channel (pixel/255 - mean) / std with mean %s and std %s",
		floats(mean[:], ", "), floats(std[:], ", "))
}

// floats formats float32 values as they were written, joined by sep.
func floats(vs []float32, sep string) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = strconv.FormatFloat(float64(v), 'g', -1, 32)
	}
	return strings.Join(s, sep)
}

// Encoder returns the ONNX model of enc in eval mode: each batch norm, with
// its running statistics, is folded into the convolution before it (a
// weight scaled per output channel, and a bias), so the graph holds only
// Conv, Relu, Add, MaxPool, GlobalAveragePool and Flatten. Input and output
// are InputName and OutputName, with a dynamic batch; the input is
// normalised with mean and std (the run's channel statistics, which the
// metadata states). meta goes into the
// model's metadata_props, sorted by key, after the contract's own entries;
// producer names the tool (e.g. "export-onnx"), version its version.
//
// It fails when a folded weight is not finite (a broken checkpoint), naming
// the tensor.
func Encoder(enc *model.Encoder, mean, std [augment.Channels]float32, producer, version string, meta map[string]string) (*Model, error) {
	if len(enc.Blocks) != 8 {
		return nil, fmt.Errorf("onnx: encoder has %d blocks, ResNet-18 has 8", len(enc.Blocks))
	}
	b := &builder{}
	h, err := b.convBN(InputName, enc.Conv1, enc.BN1)
	if err != nil {
		return nil, err
	}
	h = b.node("Relu", "relu", nil, h)
	if p := enc.Pool; p != nil {
		h = b.node("MaxPool", "maxpool", window(p.Win), h)
	}
	for _, blk := range enc.Blocks {
		if h, err = b.block(blk, h); err != nil {
			return nil, err
		}
	}
	h = b.node("GlobalAveragePool", "avgpool", nil, h)
	b.nodes = append(b.nodes, Node{Name: "flatten", OpType: "Flatten", Inputs: []string{h}, Outputs: []string{OutputName},
		Attrs: []Attr{IntAttr("axis", 1)}})

	m := &Model{
		IRVersion:       IRVersion,
		Opset:           Opset,
		ProducerName:    producer,
		ProducerVersion: version,
		DocString: fmt.Sprintf("SimCLR ResNet-18 encoder, %s stem, eval mode with batch norms folded into the convolutions. "+
			"Input %q: float32 [N, 3, 32, 32], %s. Output %q: float32 [N, 512] features.",
			enc.Stem, InputName, Normalisation(mean, std), OutputName),
		Graph: Graph{
			Name:        "resnet18_encoder",
			Nodes:       b.nodes,
			Initializer: b.inits,
			Inputs: []ValueInfo{{Name: InputName, ElemType: Float,
				Dims: []int64{0, 3, model.ImageSize, model.ImageSize}, Params: []string{BatchDim}}},
			Outputs: []ValueInfo{{Name: OutputName, ElemType: Float,
				Dims: []int64{0, model.FeatureDim}, Params: []string{BatchDim}}},
		},
	}
	own := map[string]string{
		"stem":          enc.Stem,
		"input":         InputName + ": float32 [N, 3, 32, 32], " + Normalisation(mean, std),
		"output":        OutputName + ": float32 [N, 512]",
		"batch_norm":    "folded into the convolutions (eval mode, running statistics)",
		"architecture":  "resnet18 encoder (torchvision layout, no fc)",
		"input_mean":    floats(mean[:], ","),
		"input_std":     floats(std[:], ","),
		"input_scaling": "pixel/255",
	}
	for _, k := range sortedKeys(own) {
		m.Metadata = append(m.Metadata, KV{k, own[k]})
	}
	for _, k := range sortedKeys(meta) {
		if _, ok := own[k]; ok {
			return nil, fmt.Errorf("onnx: metadata key %q is the exporter's own", k)
		}
		m.Metadata = append(m.Metadata, KV{k, meta[k]})
	}
	return m, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// builder collects nodes and initializers in graph order.
type builder struct {
	nodes []Node
	inits []Tensor
}

// node appends a node of one input and one output, both named after it,
// and returns the output's name.
func (b *builder) node(op, name string, attrs []Attr, in ...string) string {
	b.nodes = append(b.nodes, Node{Name: name, OpType: op, Inputs: in, Outputs: []string{name}, Attrs: attrs})
	return name
}

// block appends a BasicBlock: relu(bn2(conv2(relu(bn1(conv1 x)))) + shortcut).
func (b *builder) block(blk *nn.BasicBlock, x string) (string, error) {
	name := strings.TrimSuffix(blk.Conv1.Weight.Name, ".conv1.weight")
	h, err := b.convBN(x, blk.Conv1, blk.BN1)
	if err != nil {
		return "", err
	}
	h = b.node("Relu", name+".relu1", nil, h)
	if h, err = b.convBN(h, blk.Conv2, blk.BN2); err != nil {
		return "", err
	}
	short := x
	if blk.DownConv != nil {
		if short, err = b.convBN(x, blk.DownConv, blk.DownBN); err != nil {
			return "", err
		}
	}
	h = b.node("Add", name+".add", nil, h, short)
	return b.node("Relu", name, nil, h), nil
}

// convBN appends conv followed by bn as one Conv node with a bias, named as
// the convolution ("layer1.0.conv1"), its folded weight and bias the
// initializers NAME.weight (OIHW) and NAME.bias:
//
//	s = gamma / sqrt(running_var + eps)
//	W' = W * s (per output channel), b' = beta - running_mean * s
//
// computed in float64 and rounded once.
func (b *builder) convBN(x string, c *nn.Conv2d, bn *nn.BatchNorm) (string, error) {
	name := strings.TrimSuffix(c.Weight.Name, ".weight")
	cout, k, cin := c.Weight.Shape[0], c.Weight.Shape[1], c.Weight.Shape[3]
	if bn.In.C != cout {
		return "", fmt.Errorf("onnx: %s has %d channels, its batch norm %d", name, cout, bn.In.C)
	}
	w := make([]float32, len(c.Weight.Data))
	nn.WeightToOIHW(w, c.Weight.Data, cout, cin, k)
	bias := make([]float32, cout)
	per := cin * k * k
	for o := range cout {
		s := float64(bn.Weight.Data[o]) / math.Sqrt(float64(bn.RunningVar.Data[o])+bn.Eps)
		bias[o] = float32(float64(bn.Bias.Data[o]) - float64(bn.RunningMean.Data[o])*s)
		row := w[o*per : (o+1)*per]
		for i, v := range row {
			row[i] = float32(float64(v) * s)
		}
		if !finite(row) || !finite(bias[o:o+1]) {
			return "", fmt.Errorf("onnx: %s folded with its batch norm has non-finite values in output channel %d (running_var %g)",
				name, o, bn.RunningVar.Data[o])
		}
	}
	b.inits = append(b.inits,
		Tensor{Name: name + ".weight", Dims: []int64{int64(cout), int64(cin), int64(k), int64(k)}, Data: w},
		Tensor{Name: name + ".bias", Dims: []int64{int64(cout)}, Data: bias})
	attrs := append(window(c.Win), IntsAttr("dilations", 1, 1), IntAttr("group", 1))
	b.nodes = append(b.nodes, Node{Name: name, OpType: "Conv", Inputs: []string{x, name + ".weight", name + ".bias"},
		Outputs: []string{name}, Attrs: attrs})
	return name, nil
}

// window is the kernel_shape, strides and pads attributes of a square
// window, padded alike on all four sides.
func window(w nn.Window) []Attr {
	k, s, p := int64(w.K), int64(w.Stride), int64(w.Pad)
	return []Attr{IntsAttr("kernel_shape", k, k), IntsAttr("strides", s, s), IntsAttr("pads", p, p, p, p)}
}

func finite(xs []float32) bool {
	for _, v := range xs {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return false
		}
	}
	return true
}

// WriteFile writes the model to path atomically (a temporary file renamed
// into place when complete), or to standard output when path is "-".
func (m *Model) WriteFile(path string) error {
	data := m.Marshal()
	if path == "-" {
		if _, err := os.Stdout.Write(data); err != nil {
			return fmt.Errorf("write standard output: %w", err)
		}
		return nil
	}
	f, err := atomicfile.Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Commit()
}
