package train

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/simclr-go/simclr/pkg/model"
	"github.com/simclr-go/simclr/pkg/safetensors"
	"github.com/simclr-go/simclr/pkg/version"
)

// Format names the checkpoint layout, so that a reader can refuse others.
const Format = "simclr-go/checkpoint/v1"

// Metadata keys of a checkpoint besides the tensors.
const (
	MetaFormat   = "format"
	MetaStem     = "stem"
	MetaEpoch    = "epoch"
	MetaProducer = "producer"
)

// Checkpoint writes everything a bit-exact resume needs to path
// (atomically): encoder tensors under torchvision's names, the projection
// head under "projector." (or the supervised classifier as "fc"), optimizer
// state under "optim.", and the run's config, position and loss history as
// metadata, with the wall time of the steps taken.
func (t *Trainer) Checkpoint(path string) error {
	cfg, err := json.Marshal(t.Cfg)
	if err != nil {
		return err
	}
	hist, err := json.Marshal(t.History)
	if err != nil {
		return err
	}
	meta := map[string]string{
		MetaFormat:        Format,
		MetaProducer:      version.Producer("pretrain"),
		MetaStem:          t.Cfg.Stem,
		"objective":       t.Cfg.Objective,
		"arch":            "resnet18",
		"config":          string(cfg),
		MetaEpoch:         strconv.Itoa(t.Epoch),
		"step":            strconv.Itoa(t.Step),
		"global_step":     strconv.Itoa(t.GlobalStep()),
		"epoch_loss_sum":  strconv.FormatFloat(t.EpochLossSum, 'g', -1, 64),
		"loss_history":    string(hist),
		"optimizer_steps": strconv.FormatInt(*t.Opt.Steps(), 10),
		"images":          strconv.Itoa(t.images()),
	}
	if t.Seconds >= 0 {
		meta["train_seconds"] = strconv.FormatFloat(t.Seconds, 'f', 3, 64)
	}
	tensors := t.state().Tensors()
	return safetensors.Save(path, tensors, meta)
}

// state is every tensor of the run: model and optimizer.
func (t *Trainer) state() model.State {
	return model.Join(t.Enc.State(), t.obj.state(), model.State{Buffers: t.Opt.State()})
}

// Resume rebuilds a trainer from a checkpoint written by Checkpoint, to
// continue on data, or on stream when it is set, exactly where it stopped,
// under the stored config. A stream must be the one the run started with
// (the same augment command): the views of the steps taken are skipped.
func Resume(path string, data Dataset, stream *Stream) (*Trainer, error) {
	f, err := safetensors.Load(path)
	if err != nil {
		return nil, err
	}
	t, err := resume(f, data, stream)
	if err != nil {
		return nil, fmt.Errorf("resume from %s: %w", path, err)
	}
	return t, nil
}

func resume(f *safetensors.File, data Dataset, stream *Stream) (*Trainer, error) {
	m := f.Metadata
	if m[MetaFormat] != Format {
		return nil, fmt.Errorf("not a pretraining checkpoint (format %q, want %q)", m[MetaFormat], Format)
	}
	var cfg Config
	if err := json.Unmarshal([]byte(m["config"]), &cfg); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	t, err := newWithData(cfg, data, stream)
	if err != nil {
		return nil, err
	}
	if images, _ := strconv.Atoi(m["images"]); images != t.images() {
		return nil, fmt.Errorf("the run trained on %s images, this input has %d", m["images"], t.images())
	}
	if err := t.state().Load(f); err != nil {
		return nil, err
	}
	ints := map[string]*int{MetaEpoch: &t.Epoch, "step": &t.Step}
	for k, p := range ints {
		if *p, err = strconv.Atoi(m[k]); err != nil {
			return nil, fmt.Errorf("metadata %s: %w", k, err)
		}
	}
	if *t.Opt.Steps(), err = strconv.ParseInt(m["optimizer_steps"], 10, 64); err != nil {
		return nil, fmt.Errorf("metadata optimizer_steps: %w", err)
	}
	if t.EpochLossSum, err = strconv.ParseFloat(m["epoch_loss_sum"], 64); err != nil {
		return nil, fmt.Errorf("metadata epoch_loss_sum: %w", err)
	}
	if err := json.Unmarshal([]byte(m["loss_history"]), &t.History); err != nil {
		return nil, fmt.Errorf("metadata loss_history: %w", err)
	}
	t.Seconds = -1 // from before train_seconds
	if v, ok := m["train_seconds"]; ok {
		if t.Seconds, err = strconv.ParseFloat(v, 64); err != nil || t.Seconds < 0 {
			return nil, fmt.Errorf("metadata train_seconds %q: want seconds", v)
		}
	}
	return t, nil
}
