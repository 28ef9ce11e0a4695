package onnx

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/simclr-go/simclr/pkg/arrowio"
	"github.com/simclr-go/simclr/pkg/augment"
	"github.com/simclr-go/simclr/pkg/features"
	"github.com/simclr-go/simclr/pkg/kern"
	"github.com/simclr-go/simclr/pkg/model"
	"github.com/simclr-go/simclr/pkg/nn"
	"github.com/simclr-go/simclr/pkg/onnx/onnxtest"
	"github.com/simclr-go/simclr/pkg/safetensors"
	"github.com/simclr-go/simclr/pkg/train"
)

// testEncoder is a random-init encoder for n images in eval mode, its batch
// norms given random affine parameters and running statistics so that
// folding them is exercised (fresh ones are the identity).
func testEncoder(t *testing.T, stem string, n int, seed uint64) *model.Encoder {
	t.Helper()
	enc, err := model.NewEncoder(stem, n, kern.Default())
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, 1))
	enc.Init(r)
	bns := []*nn.BatchNorm{enc.BN1}
	for _, b := range enc.Blocks {
		bns = append(bns, b.BN1, b.BN2)
		if b.DownBN != nil {
			bns = append(bns, b.DownBN)
		}
	}
	for _, bn := range bns {
		for i := range bn.In.C {
			bn.Weight.Data[i] = float32(0.5 + r.Float64())
			bn.Bias.Data[i] = float32(0.4*r.Float64() - 0.2)
			bn.RunningMean.Data[i] = float32(0.4*r.Float64() - 0.2)
			bn.RunningVar.Data[i] = float32(0.5 + 1.5*r.Float64())
		}
	}
	enc.SetTrain(false)
	return enc
}

// The model read back field by field: header, opset, metadata, and a graph
// whose convolutions carry every weight of the encoder, folded.
func TestEncoderModel(t *testing.T) {
	for _, c := range []struct {
		stem         string
		convs, nodes int
	}{
		// 1 stem conv + 16 block convs + 3 downsamples; nodes: stem conv,
		// relu (+ max pool), per block 2 convs, relu, add, relu (+ 1
		// downsample), avgpool, flatten.
		{model.StemImageNet, 20, 1 + 1 + 1 + 8*5 + 3 + 2},
		{model.StemCIFAR, 20, 1 + 1 + 8*5 + 3 + 2},
		{model.StemCIFARPool, 20, 1 + 1 + 1 + 8*5 + 3 + 2},
	} {
		t.Run(c.stem, func(t *testing.T) {
			enc := testEncoder(t, c.stem, 1, 7)
			m, err := Encoder(enc, augment.CIFAR10Mean, augment.CIFAR10Std, "export-onnx", "9.9.9", map[string]string{"checkpoint": "x.safetensors", "checkpoint_sha256": "abc"})
			if err != nil {
				t.Fatal(err)
			}
			top := onnxtest.Fields(t, m.Marshal())
			if top[1][0].(uint64) != IRVersion || onnxtest.Str(top[2][0]) != "export-onnx" || onnxtest.Str(top[3][0]) != "9.9.9" {
				t.Errorf("ir_version %v, producer %q %q", top[1], top[2], top[3])
			}
			opset := onnxtest.Fields(t, top[8][0].([]byte))
			if len(top[8]) != 1 || opset[1] != nil || opset[2][0].(uint64) != Opset {
				t.Errorf("opset_import %v", opset)
			}
			meta := onnxtest.Metadata(t, top)
			if meta["checkpoint"] != "x.safetensors" || meta["checkpoint_sha256"] != "abc" || meta["stem"] != c.stem {
				t.Errorf("metadata_props %v", meta)
			}
			g := onnxtest.Fields(t, top[7][0].([]byte))
			if len(g[1]) != c.nodes {
				t.Errorf("%d nodes, want %d", len(g[1]), c.nodes)
			}
			var params, convs int
			for _, n := range g[1] {
				if onnxtest.Str(onnxtest.Fields(t, n.([]byte))[4][0]) == "Conv" {
					convs++
				}
			}
			// Each conv keeps its weight and gains a bias of its channels.
			var weights, biases int
			for _, p := range enc.Params() {
				if len(p.Shape) == 4 {
					weights, biases = weights+len(p.Data), biases+p.Shape[0]
				}
			}
			for _, init := range g[5] {
				f := onnxtest.Fields(t, init.([]byte))
				size := 1
				for _, d := range f[1] {
					size *= int(d.(uint64))
				}
				if f[2][0].(uint64) != Float || len(f[9][0].([]byte)) != 4*size {
					t.Errorf("initializer %s: data_type %v, %d raw bytes for %d values", onnxtest.Str(f[8][0]), f[2], len(f[9][0].([]byte)), size)
				}
				params += size
			}
			if convs != c.convs || len(g[5]) != 2*c.convs || params != weights+biases {
				t.Errorf("%d convs, %d initializers of %d values; want %d, %d, %d", convs, len(g[5]), params, c.convs, 2*c.convs, weights+biases)
			}
			in, out := onnxtest.Fields(t, g[11][0].([]byte)), onnxtest.Fields(t, g[12][0].([]byte))
			if onnxtest.Str(in[1][0]) != InputName || onnxtest.Str(out[1][0]) != OutputName {
				t.Errorf("input %q, output %q", in[1][0], out[1][0])
			}
		})
	}
}

// A broken checkpoint (a negative running variance) is refused, naming the
// layer.
func TestEncoderNonFinite(t *testing.T) {
	enc := testEncoder(t, model.StemCIFAR, 1, 1)
	enc.Blocks[2].BN2.RunningVar.Data[5] = -1
	_, err := Encoder(enc, augment.CIFAR10Mean, augment.CIFAR10Std, "export-onnx", "0", nil)
	want := "onnx: layer2.0.conv2 folded with its batch norm has non-finite values in output channel 5 (running_var -1)"
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
}

// onnxRuntime finds node and tests/onnxrt/run.mjs, which runs a model with
// ONNX Runtime's CPU build. It skips the test when node or the npm package
// is missing, except under CI (.ci/run installs the package), where a skip
// would hide that the check never ran.
func onnxRuntime(t *testing.T) (node, script string) {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "tests", "onnxrt"))
	if err != nil {
		t.Fatal(err)
	}
	node, err = exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "node_modules", "onnxruntime-node"))
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("ONNX Runtime check cannot run under CI: %v", err)
		}
		t.Skipf("ONNX Runtime check skipped (run npm ci --ignore-scripts in tests/onnxrt): %v", err)
	}
	return node, filepath.Join(dir, "run.mjs")
}

// runModel runs the model in ONNX Runtime on n images of input, and returns
// the features of the batch, then of the first image alone, and what the
// session said.
func runModel(t *testing.T, node, script, modelPath string, x []float32, n int) (batch, single []float32, info string) {
	t.Helper()
	tmp := t.TempDir()
	in, outPath := filepath.Join(tmp, "input.bin"), filepath.Join(tmp, "output.bin")
	raw := make([]byte, 4*len(x))
	for i, v := range x {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	if err := os.WriteFile(in, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, script, modelPath, in, strconv.Itoa(n), outPath)
	stdout, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("onnxruntime-node: %v\n%s", err, stderr)
	}
	raw, err = os.ReadFile(outPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != 4*(n+1)*model.FeatureDim {
		t.Fatalf("onnxruntime-node wrote %d bytes, want %d images of %d float32", len(raw), n+1, model.FeatureDim)
	}
	y := make([]float32, len(raw)/4)
	for i := range y {
		y[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return y[:n*model.FeatureDim], y[n*model.FeatureDim:], string(stdout)
}

// maxRelDiff is the largest, over images, of ‖got − want‖ / ‖want‖ for each
// image's feature vector, and the largest |got − want| / max|want| of any
// single feature.
func maxRelDiff(got, want []float32, n int) (norm, elem float64) {
	for i := range n {
		g, w := got[i*model.FeatureDim:(i+1)*model.FeatureDim], want[i*model.FeatureDim:(i+1)*model.FeatureDim]
		var num, den, diff, peak float64
		for j := range w {
			d := float64(g[j]) - float64(w[j])
			num, den = num+d*d, den+float64(w[j])*float64(w[j])
			diff, peak = max(diff, math.Abs(d)), max(peak, math.Abs(float64(w[j])))
		}
		norm, elem = max(norm, math.Sqrt(num/den)), max(elem, diff/peak)
	}
	return norm, elem
}

// The exported model, run by ONNX Runtime, computes what the Go encoder
// computes in eval mode (what extract writes), to 1e-4 relative, on a
// batch and on a single image, for every stem, exported from a checkpoint.
func TestOnnxRuntimeMatchesEncoder(t *testing.T) {
	const n, tol = 3, 1e-4
	for _, stem := range model.Stems {
		t.Run(stem, func(t *testing.T) {
			node, script := onnxRuntime(t)
			// Exported from a checkpoint of the encoder, as export-onnx does.
			enc := testEncoder(t, stem, n, 42)
			ckpt := filepath.Join(t.TempDir(), "simclr_epoch001.safetensors")
			if err := safetensors.Save(ckpt, enc.State().Tensors(), map[string]string{train.MetaStem: stem}); err != nil {
				t.Fatal(err)
			}
			loaded, _, err := train.LoadEncoder(kern.Default(), ckpt, "", 1)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Encoder(loaded, augment.CIFAR10Mean, augment.CIFAR10Std, "export-onnx", "test", nil)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "encoder.onnx")
			if err := m.WriteFile(path); err != nil {
				t.Fatal(err)
			}
			// Images as extract normalises them (NHWC), and the same
			// values in NCHW for the model.
			r := rand.New(rand.NewPCG(3, 4))
			pixels := make([]uint8, n*augment.ImageLen)
			for i := range pixels {
				pixels[i] = uint8(r.IntN(256))
			}
			x := make([]float32, len(pixels))
			augment.ToNHWC(x, pixels, augment.CIFAR10Mean, augment.CIFAR10Std)
			want := slices.Clone(enc.Forward(x, n))

			got, single, info := runModel(t, node, script, path, toNCHW(x, n), n)
			var s struct {
				Inputs, Outputs []struct {
					Name, Type string
					Shape      []any
				}
				Dims [][]int
			}
			if err := json.Unmarshal([]byte(info), &s); err != nil {
				t.Fatalf("%v: %s", err, info)
			}
			wantIO := `{"Inputs":[{"Name":"input","Type":"float32","Shape":["N",3,32,32]}],"Outputs":[{"Name":"features","Type":"float32","Shape":["N",512]}],"Dims":[[3,512],[1,512]]}`
			if b, _ := json.Marshal(s); string(b) != wantIO {
				t.Errorf("session reported %s\nwant %s", b, wantIO)
			}
			norm, elem := maxRelDiff(got, want, n)
			t.Logf("%s stem, batch of %d: max relative difference %.2g (norm per image), %.2g (element, of the image's largest)", stem, n, norm, elem)
			if norm > tol || elem > tol {
				t.Errorf("ONNX Runtime's features differ from the encoder's by %.2g (norm), %.2g (element); want <= %g", norm, elem, tol)
			}
			if norm1, elem1 := maxRelDiff(single, want, 1); norm1 > tol || elem1 > tol {
				t.Errorf("batch of one: features differ by %.2g (norm), %.2g (element); want <= %g", norm1, elem1, tol)
			}
		})
	}
}

// toNCHW reorders n NHWC images, as the encoder takes them, to the model's
// NCHW.
func toNCHW(x []float32, n int) []float32 {
	const hw = model.ImageSize * model.ImageSize
	nchw := make([]float32, len(x))
	for img := range n {
		for p := range hw {
			for c := range 3 {
				nchw[(img*3+c)*hw+p] = x[(img*hw+p)*3+c]
			}
		}
	}
	return nchw
}

// With ONNX_CHECK_CHECKPOINT, ONNX_CHECK_IMAGES and ONNX_CHECK_FEATURES set
// (a pretraining checkpoint, an image table, and extract's features of that
// table from that checkpoint), the checkpoint's exported model, run by ONNX
// Runtime on the table's first images, gives extract's features to 1e-4
// relative: the check of a real run, not made in CI.
func TestOnnxRuntimeMatchesExtract(t *testing.T) {
	ckpt, images, feats := os.Getenv("ONNX_CHECK_CHECKPOINT"), os.Getenv("ONNX_CHECK_IMAGES"), os.Getenv("ONNX_CHECK_FEATURES")
	if ckpt == "" || images == "" || feats == "" {
		t.Skip("ONNX_CHECK_CHECKPOINT, ONNX_CHECK_IMAGES and ONNX_CHECK_FEATURES name a real run's files")
	}
	const n, tol = 256, 1e-4
	node, script := onnxRuntime(t)
	enc, src, err := train.LoadEncoder(kern.Default(), ckpt, "", n)
	if err != nil {
		t.Fatal(err)
	}
	mean, std := src.Config.Normalization()
	m, err := Encoder(enc, mean, std, "export-onnx", "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "encoder.onnx")
	if err := m.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	r, err := arrowio.OpenImages(images)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var pixels []uint8
	for len(pixels) < n*augment.ImageLen && r.Next() {
		pixels = append(pixels, r.Batch().Pixels...)
	}
	if len(pixels) < n*augment.ImageLen {
		t.Fatalf("%s: fewer than %d images", images, n)
	}
	x := make([]float32, n*augment.ImageLen)
	augment.ToNHWC(x, pixels[:n*augment.ImageLen], mean, std)
	tab, err := features.ReadAll(feats)
	if err != nil {
		t.Fatal(err)
	}
	got, _, _ := runModel(t, node, script, path, toNCHW(x, n), n)
	norm, elem := maxRelDiff(got, tab.Features, n)
	t.Logf("%s (%s stem), first %d images of %s: ONNX Runtime against extract's %s, max relative difference %.2g (norm per image), %.2g (element)",
		src.Checkpoint, src.Stem, n, images, feats, norm, elem)
	if norm > tol || elem > tol {
		t.Errorf("ONNX Runtime's features differ from extract's by %.2g (norm), %.2g (element); want <= %g", norm, elem, tol)
	}
}
