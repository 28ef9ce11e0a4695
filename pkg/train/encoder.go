package train

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/simclr-go/simclr/pkg/features"
	"github.com/simclr-go/simclr/pkg/kern"
	"github.com/simclr-go/simclr/pkg/model"
	"github.com/simclr-go/simclr/pkg/safetensors"
)

// Source says where a frozen encoder came from, for the metadata of what
// is made with it.
type Source struct {
	Checkpoint string // the checkpoint's file name, or "random-init seed N"
	SHA256     string // hex SHA-256 of the checkpoint file; "" for a random one
	Stem       string
	Epoch      string // the checkpoint's pretraining epoch ("" if it does not say); "0" for a random one
	// Config is the checkpoint's training config, nil for a random
	// encoder. A checkpoint from before configs held channel statistics was
	// trained with CIFAR-10's, which its Normalization gives.
	Config *Config
}

// RandomEncoder is the encoder New starts from with this seed, in eval mode,
// for batches of up to maxN images, computed by eng (the random-encoder
// baseline).
func RandomEncoder(eng *kern.Engine, stem string, seed uint64, maxN int) (*model.Encoder, Source, error) {
	enc, err := model.NewEncoder(stem, maxN, eng)
	if err != nil {
		return nil, Source{}, err
	}
	enc.Init(rand.New(rand.NewPCG(seed, InitStream)))
	enc.SetTrain(false)
	return enc, Source{Checkpoint: fmt.Sprintf("random-init seed %d", seed), Stem: stem, Epoch: "0"}, nil
}

// LoadEncoder builds the encoder of a checkpoint at path, in eval mode, for
// batches of up to maxN images, computed by eng. The stem is the
// checkpoint's, or stem when it does not say; tensors beyond the encoder's
// (the projection head, the optimizer) are ignored. Errors name the file.
func LoadEncoder(eng *kern.Engine, path, stem string, maxN int) (*model.Encoder, Source, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, Source{}, err
	}
	f, err := safetensors.Read(bytes.NewReader(raw))
	if err != nil {
		return nil, Source{}, fmt.Errorf("%s: %w", path, err)
	}
	if s, ok := f.Metadata[MetaStem]; ok {
		stem = s
	}
	enc, err := model.NewEncoder(stem, maxN, eng)
	if err != nil {
		return nil, Source{}, fmt.Errorf("%s: %w", path, err)
	}
	if err := enc.State().Load(f); err != nil {
		return nil, Source{}, fmt.Errorf("%s: not a ResNet-18 encoder with the %s stem: %w", path, stem, err)
	}
	enc.SetTrain(false)
	var cfg Config
	if raw, ok := f.Metadata["config"]; ok {
		if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
			return nil, Source{}, fmt.Errorf("%s: config metadata: %w", path, err)
		}
	}
	sum := sha256.Sum256(raw)
	return enc, Source{Checkpoint: filepath.Base(path), SHA256: hex.EncodeToString(sum[:]), Stem: stem, Epoch: f.Metadata[MetaEpoch], Config: &cfg}, nil
}

// OpenEncoder is LoadEncoder of checkpoint or, when checkpoint is "",
// RandomEncoder of seed: the two ways a tool takes a frozen encoder.
func OpenEncoder(eng *kern.Engine, checkpoint, stem string, seed uint64, maxN int) (*model.Encoder, Source, error) {
	if checkpoint == "" {
		return RandomEncoder(eng, stem, seed, maxN)
	}
	return LoadEncoder(eng, checkpoint, stem, maxN)
}

// Metadata is where s came from as the metadata keys of a feature table,
// with producer (version.Producer of the tool) beside them; the stem is
// left to the caller.
func (s Source) Metadata(producer string) map[string]string {
	meta := map[string]string{features.MetaProducer: producer, features.MetaCheckpoint: s.Checkpoint}
	if s.SHA256 != "" {
		meta[features.MetaCheckpointSHA256] = s.SHA256
	}
	if s.Epoch != "" {
		meta[features.MetaEpoch] = s.Epoch
	}
	return meta
}
