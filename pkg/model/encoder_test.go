package model

import (
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/simclr-go/simclr/pkg/kern"
	"github.com/simclr-go/simclr/pkg/nn"
	"github.com/simclr-go/simclr/pkg/safetensors"
)

// formulaFile fills every tensor of s, in PyTorch's layout, as
// testdata/encoder.py does, so the weights need not be committed.
func formulaFile(s State) *safetensors.File {
	f := &safetensors.File{Tensors: map[string]safetensors.Tensor{}}
	wave := func(name string, n int) []float64 {
		seed := 0
		for _, c := range []byte(name) {
			seed += int(c)
		}
		return noise(seed, n)
	}
	add := func(t *nn.Tensor) {
		shape := torchShape(t)
		w := wave(t.Name, len(t.Data))
		v := make([]float32, len(w))
		kind := t.Name[strings.LastIndexByte(t.Name, '.')+1:]
		for i, s := range w {
			switch {
			case len(shape) == 4:
				v[i] = float32(s * math.Sqrt(2/float64(shape[1]*shape[2]*shape[3])))
			case kind == "weight":
				v[i] = float32(1 + 0.1*s)
			case kind == "running_var":
				v[i] = float32(1 + 0.3*math.Abs(s))
			default: // bias, running_mean
				v[i] = float32(0.1 * s)
			}
		}
		f.Tensors[t.Name] = safetensors.F32(t.Name, shape, v)
	}
	for _, p := range s.Params {
		add(&p.Tensor)
	}
	for _, b := range s.Buffers {
		add(b)
	}
	for _, c := range s.Counters {
		f.Tensors[c.Name] = safetensors.I64(c.Name, 0)
	}
	return f
}

// noise is Knuth's multiplicative hash of (index, seed), uniform on
// [-0.5, 0.5) scaled to unit variance: the script computes the same values.
func noise(seed, n int) []float64 {
	v := make([]float64, n)
	for i := range v {
		h := (uint64(i)*2654435761 + uint64(seed)*40503 + 12345) % (1 << 32)
		v[i] = (float64(h)/(1<<32) - 0.5) * math.Sqrt(12)
	}
	return v
}

type encoderGolden struct {
	InputSeed           int       `json:"input_seed"`
	TrainFeatures       []float64 `json:"train_features"`
	EvalFeatures        []float64 `json:"eval_features"`
	Conv1Grad           []float64 `json:"conv1_grad"`
	Layer3DownGrad      []float64 `json:"layer3_down_grad"`
	Layer4BN2WeightGrad []float64 `json:"layer4_bn2_weight_grad"`
	BN1RunningMean      []float64 `json:"bn1_running_mean"`
	Layer4BN2RunningVar []float64 `json:"layer4_bn2_running_var"`
}

// The whole encoder, loaded through the checkpoint path, against
// torchvision's resnet18 in float64: features in training and eval mode,
// gradients at both ends of the network, running statistics.
func TestEncoderMatchesTorchvision(t *testing.T) {
	for _, stem := range Stems {
		t.Run(stem, func(t *testing.T) {
			raw, err := os.ReadFile("testdata/encoder_" + stem + ".json")
			if err != nil {
				t.Fatal(err)
			}
			var g encoderGolden
			if err := json.Unmarshal(raw, &g); err != nil {
				t.Fatal(err)
			}
			const n = 8
			e, err := NewEncoder(stem, n, kern.Default())
			if err != nil {
				t.Fatal(err)
			}
			if err := e.State().Load(formulaFile(e.State())); err != nil {
				t.Fatal(err)
			}
			// The input, NCHW in the script, becomes NHWC here.
			const hw = ImageSize * ImageSize
			nchw := noise(g.InputSeed, n*3*hw)
			x := make([]float32, len(nchw))
			for img := range n {
				for c := range 3 {
					for p := range hw {
						x[(img*hw+p)*3+c] = float32(nchw[(img*3+c)*hw+p])
					}
				}
			}
			r := make([]float32, n*FeatureDim)
			for i, v := range noise(1000+g.InputSeed, len(r)) {
				r[i] = float32(v)
			}
			// Relative to the norm. A ReLU whose input lies within float32
			// rounding of zero passes gradient in one precision and not the
			// other, moving whole gradients by a percent; the script picks an
			// input that keeps layer3 and layer4 clear of such kinks. Measured
			// errors are 1e-5 or less. Elementwise 1e-4 tolerances belong to
			// the per-layer tests of package nn.
			check := func(what string, got []float32, want []float64, tol float64) {
				t.Helper()
				var num, den float64
				for i, w := range want {
					d := float64(got[i]) - w
					num, den = num+d*d, den+w*w
				}
				if rel := math.Sqrt(num / den); rel > tol {
					t.Errorf("%s: relative error %.2g against torchvision, want <= %g", what, rel, tol)
				}
			}
			check("train features", e.Forward(x, n), g.TrainFeatures, 1e-4)
			e.Backward(r, n)
			oihw := func(c *nn.Conv2d) []float32 {
				w := c.Weight
				out := make([]float32, len(w.Grad))
				nn.WeightToOIHW(out, w.Grad, w.Shape[0], w.Shape[3], w.Shape[1])
				return out
			}
			check("conv1 grad", oihw(e.Conv1), g.Conv1Grad, 1e-3)
			check("layer3.0.downsample.0 grad", oihw(e.Blocks[4].DownConv), g.Layer3DownGrad, 1e-3)
			check("layer4.1.bn2.weight grad", e.Blocks[7].BN2.Weight.Grad, g.Layer4BN2WeightGrad, 1e-3)
			check("bn1.running_mean", e.BN1.RunningMean.Data, g.BN1RunningMean, 1e-6)
			check("layer4.1.bn2.running_var", e.Blocks[7].BN2.RunningVar.Data, g.Layer4BN2RunningVar, 1e-6)
			e.SetTrain(false)
			check("eval features", e.Forward(x, n), g.EvalFeatures, 1e-5)
		})
	}
}

func TestStateLoadNamesWhatDiffers(t *testing.T) {
	img, _ := NewEncoder(StemImageNet, 1, kern.Default())
	cif, _ := NewEncoder(StemCIFAR, 1, kern.Default())
	err := cif.State().Load(formulaFile(img.State()))
	if err == nil || !strings.Contains(err.Error(), "conv1.weight has shape [64 3 7 7], this model needs [64 3 3 3]") {
		t.Fatalf("error %v, want one naming conv1.weight's shapes", err)
	}
	f := formulaFile(img.State())
	delete(f.Tensors, "layer2.1.bn1.bias")
	if err := img.State().Load(f); err == nil || !strings.Contains(err.Error(), "layer2.1.bn1.bias is missing") {
		t.Fatalf("error %v, want one naming the missing tensor", err)
	}
}
