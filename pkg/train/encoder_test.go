package train

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/simclr-go/simclr/pkg/kern"
	"github.com/simclr-go/simclr/pkg/model"
	"github.com/simclr-go/simclr/pkg/safetensors"
)

// A checkpoint of RandomEncoder's weights loads back as the same encoder,
// in eval mode, with its stem and epoch and the file's SHA-256.
func TestLoadEncoder(t *testing.T) {
	want, src, err := RandomEncoder(kern.Default(), model.StemCIFAR, 5, 1)
	if err != nil {
		t.Fatal(err)
	}
	if src != (Source{Checkpoint: "random-init seed 5", Stem: "cifar", Epoch: "0"}) {
		t.Errorf("random source %+v", src)
	}
	path := filepath.Join(t.TempDir(), "simclr_epoch003.safetensors")
	if err := safetensors.Save(path, want.State().Tensors(), map[string]string{MetaStem: "cifar", MetaEpoch: "3"}); err != nil {
		t.Fatal(err)
	}
	got, src, err := LoadEncoder(kern.Default(), path, model.StemImageNet, 1) // the checkpoint's stem wins
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	cfg := src.Config
	src.Config = nil
	if src != (Source{Checkpoint: "simclr_epoch003.safetensors", SHA256: hex.EncodeToString(sum[:]), Stem: "cifar", Epoch: "3"}) {
		t.Errorf("checkpoint source %+v", src)
	}
	if cfg == nil {
		t.Error("checkpoint source without its config")
	}
	if got.Stem != "cifar" || got.BN1.Train || got.Blocks[7].BN2.Train {
		t.Errorf("loaded encoder: stem %s, batch norms in training mode %v", got.Stem, got.BN1.Train)
	}
	for i, p := range got.Params() {
		if !slices.Equal(p.Data, want.Params()[i].Data) {
			t.Errorf("%s differs from the checkpoint's", p.Name)
		}
	}
}

func TestLoadEncoderErrors(t *testing.T) {
	dir := t.TempDir()
	notST := filepath.Join(dir, "images.safetensors")
	if err := os.WriteFile(notST, []byte("definitely not safetensors"), 0o644); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other.safetensors")
	if err := safetensors.Save(other, []safetensors.Tensor{safetensors.F32("conv1.weight", []int{64, 3, 3, 3}, make([]float32, 64*27))},
		map[string]string{MetaStem: "imagenet"}); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{
		filepath.Join(dir, "nope.safetensors"): "nope.safetensors: no such file",
		notST:                                  "images.safetensors: ",
		other:                                  "other.safetensors: not a ResNet-18 encoder with the imagenet stem: tensor conv1.weight has shape [64 3 3 3], this model needs [64 3 7 7]",
	} {
		if _, _, err := LoadEncoder(kern.Default(), path, model.StemImageNet, 1); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %q", path, err, want)
		}
	}
}
