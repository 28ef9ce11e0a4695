package train

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"

	"github.com/simclr-go/simclr/pkg/dist"
	"github.com/simclr-go/simclr/pkg/kern"
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
	// MetaWorldSize is the number of processes the run trains as: 1, or
	// the ranks of a distributed run (absent before it was recorded: 1).
	MetaWorldSize = "world_size"
)

// Checkpoint writes everything a bit-exact resume needs to path
// (atomically): encoder tensors under torchvision's names, the projection
// head under "projector." (or the supervised classifier as "fc"), optimizer
// state under "optim.", and the run's config, position and loss history as
// metadata, with the wall time of the steps taken and the number of
// processes that trained it. A distributed run's rank 0 writes it.
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
		MetaWorldSize:     strconv.Itoa(ranks(t.comm)),
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
func Resume(eng *kern.Engine, path string, data Dataset, stream *Stream) (*Trainer, error) {
	return resumeFile(eng, path, data, stream, nil)
}

// ResumeDistributed is Resume for this rank of a distributed run (see
// NewDistributed), every rank reading the same checkpoint: the run's
// world size must be comm's. It is collective, and the ranks continue
// from rank 0's state.
func ResumeDistributed(eng *kern.Engine, path string, data Dataset, comm dist.Comm) (*Trainer, error) {
	t, err := resumeFile(eng, path, data, nil, comm)
	if err != nil {
		return nil, err
	}
	if err := t.replicate(); err != nil {
		return nil, err
	}
	return t, nil
}

func resumeFile(eng *kern.Engine, path string, data Dataset, stream *Stream, comm dist.Comm) (*Trainer, error) {
	f, err := safetensors.Load(path)
	if err != nil {
		return nil, err
	}
	t, err := resume(eng, f, data, stream, comm)
	if err != nil {
		return nil, fmt.Errorf("resume from %s: %w", path, err)
	}
	return t, nil
}

func resume(eng *kern.Engine, f *safetensors.File, data Dataset, stream *Stream, comm dist.Comm) (*Trainer, error) {
	pos, err := readPosition(f.Metadata)
	if err != nil {
		return nil, err
	}
	if pos.worldSize != ranks(comm) {
		return nil, fmt.Errorf("the run has world size %d (%s), and this resume %d: resume it with the number of processes it started with", pos.worldSize, MetaWorldSize, ranks(comm))
	}
	// The config was checked by readPosition; the model is built only now.
	t, err := newWithData(eng, pos.cfg, data, stream, comm)
	if err != nil {
		return nil, err
	}
	if pos.images != t.images() {
		return nil, fmt.Errorf("the run trained on %d images, this input has %d", pos.images, t.images())
	}
	t.Epoch, t.Step, t.EpochLossSum, t.History, t.Seconds = pos.epoch, pos.step, pos.lossSum, pos.history, pos.seconds
	*t.Opt.Steps() = pos.optSteps
	if t.Step >= t.StepsPerEpoch() || t.Epoch == t.Cfg.Epochs && t.Step != 0 {
		return nil, fmt.Errorf("metadata: position epoch %d step %d is outside the run's %d epochs of %d steps", t.Epoch, t.Step, t.Cfg.Epochs, t.StepsPerEpoch())
	}
	if pos.optSteps > int64(t.GlobalStep()) {
		return nil, fmt.Errorf("metadata: %d optimizer steps after %d steps", pos.optSteps, t.GlobalStep())
	}
	if err := finiteTensors(f); err != nil {
		return nil, err
	}
	if err := t.state().Load(f); err != nil {
		return nil, err
	}
	return t, nil
}

// position is a checkpoint's metadata: the run's config and where it
// stands.
type position struct {
	cfg              Config
	images           int
	epoch, step      int
	worldSize        int
	optSteps         int64
	lossSum, seconds float64
	history          []float64
}

// readPosition decodes and checks a checkpoint's metadata, everything that
// can be checked without the model and the data.
func readPosition(m map[string]string) (position, error) {
	var p position
	if m[MetaFormat] != Format {
		return p, fmt.Errorf("not a pretraining checkpoint (format %q, want %q)", m[MetaFormat], Format)
	}
	if err := json.Unmarshal([]byte(m["config"]), &p.cfg); err != nil {
		return p, fmt.Errorf("config: %w", err)
	}
	// The data's own checks come later, in newWithData: here the config's.
	if err := p.cfg.validate(Dataset{}, &Stream{Images: MaxBatch, Batch: p.cfg.Batch}); err != nil {
		return p, fmt.Errorf("config: %w", err)
	}
	var err error
	ints := map[string]*int{MetaEpoch: &p.epoch, "step": &p.step, "images": &p.images}
	for k, v := range ints {
		if *v, err = strconv.Atoi(m[k]); err != nil || *v < 0 {
			return p, fmt.Errorf("metadata %s %q: want a count", k, m[k])
		}
	}
	if p.epoch > p.cfg.Epochs {
		return p, fmt.Errorf("metadata: epoch %d of a run of %d", p.epoch, p.cfg.Epochs)
	}
	if p.optSteps, err = strconv.ParseInt(m["optimizer_steps"], 10, 64); err != nil || p.optSteps < 0 {
		return p, fmt.Errorf("metadata optimizer_steps %q: want a count", m["optimizer_steps"])
	}
	if p.lossSum, err = strconv.ParseFloat(m["epoch_loss_sum"], 64); err != nil {
		return p, fmt.Errorf("metadata epoch_loss_sum: %w", err)
	}
	if math.IsNaN(p.lossSum) || math.IsInf(p.lossSum, 0) {
		return p, fmt.Errorf("metadata epoch_loss_sum %v: want a finite sum", p.lossSum)
	}
	if err := json.Unmarshal([]byte(m["loss_history"]), &p.history); err != nil {
		return p, fmt.Errorf("metadata loss_history: %w", err)
	}
	if len(p.history) != p.epoch {
		return p, fmt.Errorf("metadata loss_history: %d epochs' losses for %d epochs", len(p.history), p.epoch)
	}
	p.worldSize = 1 // from before world_size
	if v, ok := m[MetaWorldSize]; ok {
		if p.worldSize, err = strconv.Atoi(v); err != nil || p.worldSize < 1 {
			return p, fmt.Errorf("metadata %s %q: want a count of processes", MetaWorldSize, v)
		}
	}
	p.seconds = -1 // from before train_seconds
	if v, ok := m["train_seconds"]; ok {
		if p.seconds, err = strconv.ParseFloat(v, 64); err != nil || !(p.seconds >= 0) || math.IsInf(p.seconds, 0) {
			return p, fmt.Errorf("metadata train_seconds %q: want seconds", v)
		}
	}
	return p, nil
}

// finiteTensors reports the first NaN or infinite value of f's float32
// tensors, by name and position in the file's layout.
func finiteTensors(f *safetensors.File) error {
	for _, name := range slices.Sorted(maps.Keys(f.Tensors)) {
		tn := f.Tensors[name]
		if tn.DType != "F32" {
			continue
		}
		for i := 0; i+4 <= len(tn.Data); i += 4 {
			if v := math.Float32frombits(binary.LittleEndian.Uint32(tn.Data[i:])); v-v != 0 {
				return fmt.Errorf("tensor %s: value %d is %v", name, i/4, v)
			}
		}
	}
	return nil
}
