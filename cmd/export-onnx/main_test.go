package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/simclr-go/simclr/pkg/augment"
	"github.com/simclr-go/simclr/pkg/kern"
	"github.com/simclr-go/simclr/pkg/model"
	"github.com/simclr-go/simclr/pkg/onnx"
	"github.com/simclr-go/simclr/pkg/onnx/onnxtest"
	"github.com/simclr-go/simclr/pkg/safetensors"
	"github.com/simclr-go/simclr/pkg/train"
)

// A checkpoint of pretrain's initial encoder exports the same graph as
// --random-init with that seed, and the model says which file it came from.
func TestCheckpointAndRandomInit(t *testing.T) {
	dir := t.TempDir()
	enc, err := model.NewEncoder(model.StemCIFAR, 1, kern.Default())
	if err != nil {
		t.Fatal(err)
	}
	enc.Init(rand.New(rand.NewPCG(5, train.InitStream)))
	ckpt := filepath.Join(dir, "simclr_epoch003.safetensors")
	// Trained on a table with its own channel statistics (CIFAR-100's, say).
	cfg, err := json.Marshal(train.Config{Mean: []float32{0.5071, 0.4865, 0.4409}, Std: []float32{0.2673, 0.2564, 0.2762}})
	if err != nil {
		t.Fatal(err)
	}
	if err := safetensors.Save(ckpt, enc.State().Tensors(), map[string]string{train.MetaStem: "cifar", train.MetaEpoch: "3", "config": string(cfg)}); err != nil {
		t.Fatal(err)
	}
	fromCkpt, fromInit := filepath.Join(dir, "ckpt.onnx"), filepath.Join(dir, "init.onnx")
	// The checkpoint's stem wins over --stem.
	if err := run([]string{"--checkpoint", ckpt, "--stem", "imagenet", "-o", fromCkpt}); err != nil {
		t.Fatal(err)
	}
	if err := run([]string{"--random-init", "--seed", "5", "--stem", "cifar", "-o", fromInit}); err != nil {
		t.Fatal(err)
	}
	read := func(path string) (graph []byte, meta map[string]string) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		m := onnxtest.Fields(t, b)
		if onnxtest.Str(m[2][0]) != tool || onnxtest.Str(m[3][0]) == "" {
			t.Errorf("%s: producer %q %q", path, m[2][0], m[3][0])
		}
		return m[7][0].([]byte), onnxtest.Metadata(t, m)
	}
	g1, m1 := read(fromCkpt)
	g2, m2 := read(fromInit)
	if !bytes.Equal(g1, g2) {
		t.Errorf("the checkpoint of seed 5's initial encoder and --random-init --seed 5 export different graphs")
	}
	raw, err := os.ReadFile(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	for k, want := range map[string]string{"checkpoint": "simclr_epoch003.safetensors", "checkpoint_sha256": hex.EncodeToString(sum[:]),
		"epoch": "3", "stem": "cifar", "producer": "export-onnx 0.1.0"} {
		if m1[k] != want {
			t.Errorf("checkpoint export: metadata %s = %q, want %q", k, m1[k], want)
		}
	}
	if m2["checkpoint"] != "random-init seed 5" || m2["epoch"] != "0" || m2["stem"] != "cifar" {
		t.Errorf("random-init export: metadata %v", m2)
	}
	// The input contract is the checkpoint's own normalisation, CIFAR-10's
	// for a random encoder.
	if m1["input_mean"] != "0.5071,0.4865,0.4409" || m1["input_std"] != "0.2673,0.2564,0.2762" ||
		!strings.Contains(m1["input"], "mean 0.5071, 0.4865, 0.4409 and std 0.2673, 0.2564, 0.2762") {
		t.Errorf("checkpoint export: input contract %q, mean %q, std %q; want the checkpoint's statistics", m1["input"], m1["input_mean"], m1["input_std"])
	}
	if want := onnx.Normalisation(augment.CIFAR10Mean, augment.CIFAR10Std); !strings.Contains(m2["input"], want) {
		t.Errorf("random-init export: input contract %q, want %q", m2["input"], want)
	}
}

// Errors name what is wrong; none leaves an output behind. (train's tests
// cover the ways a checkpoint can be bad.)
func TestBadArguments(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "model.onnx")
	unwritable := filepath.Join(dir, "no", "such", "dir", "m.onnx")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"missing checkpoint", []string{"--checkpoint", filepath.Join(dir, "nope.safetensors"), "-o", out}, "nope.safetensors: no such file"},
		{"neither source", []string{"-o", out}, "exactly one of --checkpoint"},
		{"both sources", []string{"--random-init", "--checkpoint", out, "-o", out}, "exactly one of --checkpoint"},
		{"no output", []string{"--random-init"}, "missing flags: --output=FILE"},
		{"unknown stem", []string{"--random-init", "--stem", "vit", "-o", out}, "--stem must be one of"},
		{"unwritable output", []string{"--random-init", "-o", unwritable}, unwritable},
	} {
		err := run(tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
		if _, statErr := os.Stat(out); statErr == nil {
			t.Errorf("%s: left %s behind", tc.name, out)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*")); len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}
