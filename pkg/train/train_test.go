package train

import (
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/simclr-go/simclr/pkg/augment"
	"github.com/simclr-go/simclr/pkg/kern"
	"github.com/simclr-go/simclr/pkg/safetensors"
)

func synthetic(n int) Dataset {
	r := rand.New(rand.NewPCG(7, 8))
	d := Dataset{Pixels: make([]uint8, n*augment.ImageLen), Index: make([]int32, n), Label: make([]uint8, n)}
	for i := range d.Pixels {
		d.Pixels[i] = uint8(r.IntN(256))
	}
	for i := range d.Index {
		d.Index[i] = int32(i)
		d.Label[i] = uint8(i % Classes)
	}
	return d
}

func tinyConfig() Config {
	cfg := DefaultConfig()
	cfg.Epochs, cfg.Batch, cfg.WarmupEpochs, cfg.ProjHidden, cfg.ProjOut = 2, 4, 1, 16, 8
	return cfg
}

func run(t *testing.T, tr *Trainer, steps int) {
	t.Helper()
	for range steps {
		if _, err := tr.TrainStep(); err != nil {
			t.Fatal(err)
		}
	}
}

// Two epochs straight equal one epoch, a checkpoint, a resume and one more,
// bit for bit: parameters, buffers, optimizer state and loss history.
func TestResumeIsExact(t *testing.T) {
	data := synthetic(9) // 2 steps per epoch, one image dropped
	straight, err := New(kern.Default(), tinyConfig(), data)
	if err != nil {
		t.Fatal(err)
	}
	defer straight.Close()
	run(t, straight, 4)

	first, err := New(kern.Default(), tinyConfig(), data)
	if err != nil {
		t.Fatal(err)
	}
	run(t, first, 3) // stop mid-epoch
	path := filepath.Join(t.TempDir(), "ck.safetensors")
	if err := first.Checkpoint(path); err != nil {
		t.Fatal(err)
	}
	first.Close()
	resumed, err := Resume(kern.Default(), path, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resumed.Close()
	// The time of the steps before the checkpoint carries over (to the
	// millisecond it is stored at).
	if d := resumed.Seconds - first.Seconds; first.Seconds <= 0 || d < -0.0005 || d > 0.0005 {
		t.Errorf("resumed with %g s of training, saved %g", resumed.Seconds, first.Seconds)
	}
	run(t, resumed, 1)
	if resumed.Seconds <= first.Seconds {
		t.Errorf("a step after the resume added no time: %g s, %g before", resumed.Seconds, first.Seconds)
	}
	if !resumed.Done() || !straight.Done() {
		t.Fatal("runs not complete after 4 steps")
	}
	a, b := straight.state().Tensors(), resumed.state().Tensors()
	if len(a) != len(b) {
		t.Fatalf("%d tensors vs %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Name != b[i].Name || !slices.Equal(a[i].Data, b[i].Data) {
			t.Fatalf("tensor %s differs after resume", a[i].Name)
		}
	}
	if !slices.Equal(straight.History, resumed.History) {
		t.Fatalf("loss history %v vs %v", straight.History, resumed.History)
	}
}

// A checkpoint from before train_seconds resumes with the time unknown,
// and checkpoints after it leave the time out rather than count part of it.
func TestResumeWithoutTime(t *testing.T) {
	path := freshCheckpoint(t)
	f, err := safetensors.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	delete(f.Metadata, "train_seconds")
	tensors := make([]safetensors.Tensor, 0, len(f.Tensors))
	for _, v := range f.Tensors {
		tensors = append(tensors, v)
	}
	if err := safetensors.Save(path, tensors, f.Metadata); err != nil {
		t.Fatal(err)
	}
	tr, err := Resume(kern.Default(), path, synthetic(8), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	run(t, tr, 1)
	if tr.Seconds >= 0 {
		t.Errorf("time %g s, want unknown", tr.Seconds)
	}
	if err := tr.Checkpoint(path); err != nil {
		t.Fatal(err)
	}
	if f, err = safetensors.Load(path); err != nil {
		t.Fatal(err)
	}
	if v, ok := f.Metadata["train_seconds"]; ok {
		t.Errorf("train_seconds %q written for an unknown time", v)
	}
}

// The supervised objective learns its labels: on a few images whose class
// is written in their pixels, its loss falls well below chance (ln 10).
func TestSupervisedLearns(t *testing.T) {
	data := synthetic(8)
	for i := range data.Index {
		img := data.Pixels[i*augment.ImageLen : (i+1)*augment.ImageLen]
		for j := range img {
			img[j] = uint8(int(data.Label[i]) * 25)
		}
	}
	cfg := tinyConfig()
	cfg.Objective, cfg.Epochs, cfg.Batch, cfg.WarmupEpochs, cfg.LR = ObjectiveSupervised, 30, 8, 0, 1e-3
	cfg.Augment.JitterP, cfg.Augment.GrayP, cfg.Augment.Blur = 0, 0, false
	tr, err := New(kern.Default(), cfg, data)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	run(t, tr, 30)
	if first, last := tr.History[0], tr.History[len(tr.History)-1]; last > 0.5*first || last > 1 {
		t.Fatalf("supervised loss went from %.3f to %.3f", first, last)
	}
	path := filepath.Join(t.TempDir(), "sup.safetensors")
	if err := tr.Checkpoint(path); err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	// torchvision's classifier names: the whole file loads into resnet18.
	for _, name := range []string{"fc.weight", "fc.bias"} {
		if _, ok := f.Tensors[name]; !ok {
			t.Errorf("missing %s", name)
		}
	}
}

// freshCheckpoint saves a new tiny trainer over 8 images and returns the path.
func freshCheckpoint(t testing.TB) string {
	t.Helper()
	tr, err := New(kern.Default(), tinyConfig(), synthetic(8))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ck.safetensors")
	if err := tr.Checkpoint(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCheckpointNames(t *testing.T) {
	f, err := safetensors.Load(freshCheckpoint(t))
	if err != nil {
		t.Fatal(err)
	}
	// torchvision resnet18 names and layouts, the head under projector.
	want := map[string][]int{
		"conv1.weight":                      {64, 3, 7, 7},
		"bn1.running_mean":                  {64},
		"bn1.num_batches_tracked":           {},
		"layer1.0.conv1.weight":             {64, 64, 3, 3},
		"layer2.0.downsample.0.weight":      {128, 64, 1, 1},
		"layer2.0.downsample.1.bias":        {128},
		"layer4.1.bn2.running_var":          {512},
		"projector.0.weight":                {16, 512},
		"projector.4.running_mean":          {16},
		"projector.6.bias":                  {8},
		"optim.exp_avg.conv1.weight":        {64, 3, 7, 7},
		"optim.exp_avg_sq.projector.6.bias": {8},
	}
	for name, shape := range want {
		got, ok := f.Tensors[name]
		if !ok {
			t.Errorf("missing %s", name)
		} else if !slices.Equal(got.Shape, shape) {
			t.Errorf("%s: shape %v, want %v", name, got.Shape, shape)
		}
	}
	if dt := f.Tensors["bn1.num_batches_tracked"].DType; dt != "I64" {
		t.Errorf("num_batches_tracked dtype %s, want I64", dt)
	}
	// Every tensor of torchvision's resnet18 state_dict but fc.
	enc := 0
	for name := range f.Tensors {
		if !strings.HasPrefix(name, "projector.") && !strings.HasPrefix(name, "optim.") {
			enc++
		}
	}
	if enc != 120 {
		t.Errorf("%d encoder tensors, want 120 (resnet18's 122 less fc.weight and fc.bias)", enc)
	}
}

func TestResumeRejectsOtherData(t *testing.T) {
	if _, err := Resume(kern.Default(), freshCheckpoint(t), synthetic(12), nil); err == nil || !strings.Contains(err.Error(), "8 images") {
		t.Fatalf("error %v, want one about the 8 images trained on", err)
	}
}
