// Package train runs SimCLR pretraining: it feeds augmented pairs of images
// through the encoder and projection head, applies NT-Xent and the
// optimizer, and saves and resumes checkpoints bit for bit.
package train

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/simclr-go/simclr/pkg/augment"
	"github.com/simclr-go/simclr/pkg/dist"
	"github.com/simclr-go/simclr/pkg/kern"
	"github.com/simclr-go/simclr/pkg/model"
	"github.com/simclr-go/simclr/pkg/nn"
	"github.com/simclr-go/simclr/pkg/optim"
)

// Config is everything that defines a run; a checkpoint stores it, and
// resuming continues under it.
type Config struct {
	Objective    string         `json:"objective"` // ObjectiveSimCLR or ObjectiveSupervised
	Stem         string         `json:"stem"`
	Epochs       int            `json:"epochs"`
	Batch        int            `json:"batch"` // images per step; twice as many views
	Tau          float32        `json:"tau"`
	Optimizer    string         `json:"optimizer"`
	LR           float32        `json:"lr"`
	Momentum     float32        `json:"momentum"`
	WeightDecay  float32        `json:"weight_decay"`
	WarmupEpochs int            `json:"warmup_epochs"`
	ProjHidden   int            `json:"proj_hidden"`
	ProjOut      int            `json:"proj_out"`
	Seed         uint64         `json:"seed"`
	Augment      augment.Config `json:"augment"`
	// BF16 runs the encoder's convolutions in bf16 (kern.BF16): forward
	// and input gradients multiply bfloat16 inputs with float32
	// accumulation; the head, the loss, weight gradients, weights and
	// optimizer stay float32.
	BF16 bool `json:"bf16"`
	// Classes is the width of the supervised classifier: the table's class
	// count (0: Classes, CIFAR-10's ten). The SimCLR objective ignores it.
	Classes int `json:"classes,omitempty"`
	// Mean and Std normalise the pixels per channel, (v/255 - mean) / std:
	// the training table's statistics (arrowio.Normalization), or, when
	// unset, CIFAR-10's.
	Mean []float32 `json:"mean,omitempty"`
	Std  []float32 `json:"std,omitempty"`
}

// Normalization returns the per-channel mean and standard deviation the
// run normalises its pixels with: Mean and Std, or CIFAR-10's when unset.
func (c Config) Normalization() (mean, std [augment.Channels]float32) {
	if len(c.Mean) != augment.Channels || len(c.Std) != augment.Channels {
		return augment.CIFAR10Mean, augment.CIFAR10Std
	}
	copy(mean[:], c.Mean)
	copy(std[:], c.Std)
	return mean, std
}

// Precision is what the encoder's convolutions multiply in: the engine a
// run computes with has the policy kern.PolicyFor(Precision()).
func (c Config) Precision() kern.Precision {
	if c.BF16 {
		return kern.BF16
	}
	return kern.FP32
}

// DefaultConfig is the reference recipe.
func DefaultConfig() Config {
	return Config{
		Objective: ObjectiveSimCLR, Stem: model.StemImageNet, Epochs: 100, Batch: 256, Tau: 0.5,
		Optimizer: "adam", LR: 3e-4, Momentum: 0.9, WarmupEpochs: 10,
		ProjHidden: 512, ProjOut: 512, Augment: augment.DefaultConfig(),
	}
}

// Dataset is the images a run trains on, CHW uint8, in table order; each
// image's index in its split seeds its views.
type Dataset = augment.Images

// Trainer holds the model, optimizer and position of a run.
type Trainer struct {
	Cfg  Config
	Enc  *model.Encoder
	Opt  optim.Optimizer
	obj  objective
	data Dataset
	// stream, when set, supplies ready-made views instead of data.
	stream *Stream

	// Position: Epoch epochs are complete and Step steps of the next one.
	Epoch, Step int
	// EpochLossSum accumulates the current epoch's step losses, so that its
	// mean is exact across a resume.
	EpochLossSum float64
	History      []float64 // mean loss of each completed epoch
	// Seconds is the wall time of the steps taken, summed over every
	// invocation; negative when unknown (resumed from a checkpoint that
	// did not record it).
	Seconds float64

	params []*nn.Param
	feed   *feeder

	// comm, when set, is the processes training together (see
	// NewDistributed); grads is where their gradients are added up.
	comm  dist.Comm
	grads []float32
}

// InitStream is the PCG stream of the initial weights: extract's
// --random-init with the same seed gives the same encoder as New.
const InitStream = 0x5eed

// New builds a freshly initialised trainer that augments data in-process,
// computed by eng's backend on its cores, in the config's precision.
func New(eng *kern.Engine, cfg Config, data Dataset) (*Trainer, error) {
	return NewDistributed(eng, cfg, data, nil)
}

// NewDistributed builds this rank's trainer of a run shared by the ranks of
// comm (New when comm is nil): the same algorithm as one process, with
// cfg.Batch the global batch, of which each rank feeds and runs its own
// cfg.Batch/comm.Size() images. Every rank gets the data and the config;
// it is collective, and the ranks start from rank 0's weights.
func NewDistributed(eng *kern.Engine, cfg Config, data Dataset, comm dist.Comm) (*Trainer, error) {
	t, err := newWithData(eng, cfg, data, nil, comm)
	if err != nil {
		return nil, err
	}
	t.init()
	if err := t.replicate(); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *Trainer) init() {
	r := rand.New(rand.NewPCG(t.Cfg.Seed, InitStream))
	t.Enc.Init(r)
	t.obj.init(r)
}

// newWithData builds an uninitialised trainer over data or, when stream is
// set, over a view stream; with comm, this rank's.
func newWithData(eng *kern.Engine, cfg Config, data Dataset, stream *Stream, comm dist.Comm) (*Trainer, error) {
	if err := cfg.validate(data, stream); err != nil {
		return nil, err
	}
	if err := distributable(cfg, stream, comm); err != nil {
		return nil, err
	}
	eng = eng.WithPrecision(cfg.Precision())
	local := cfg.Batch / ranks(comm)
	obj, err := newObjective(eng, cfg, local, comm)
	if err != nil {
		return nil, err
	}
	enc, err := model.NewEncoder(cfg.Stem, obj.views()*local, eng)
	if err != nil {
		return nil, err
	}
	params := append(enc.Params(), obj.state().Params...)
	opt, err := optim.New(cfg.Optimizer, params, cfg.Momentum, cfg.WeightDecay, eng)
	if err != nil {
		return nil, err
	}
	if stream != nil && stream.Views != obj.views() {
		return nil, fmt.Errorf("%s: %d views per image; the %s objective takes %d", stream.Name, stream.Views, cfg.Objective, obj.views())
	}
	t := &Trainer{Cfg: cfg, Enc: enc, Opt: opt, obj: obj, data: data, stream: stream, params: params, comm: comm}
	if comm != nil {
		t.synchronise()
	}
	return t, nil
}

// Bounds of a Config beyond which it is a mistake (or a corrupt
// checkpoint), not a plan.
const (
	MaxEpochs = 100_000
	MaxBatch  = 1 << 16
	MaxWidth  = 1 << 16
)

func (c Config) validate(data Dataset, stream *Stream) error {
	var errs []error
	if c.Batch < 2 || c.Batch > MaxBatch {
		errs = append(errs, fmt.Errorf("batch %d: NT-Xent needs at least 2 images per step, and at most %d", c.Batch, MaxBatch))
	}
	images := data.Len()
	if stream != nil {
		images = stream.Images
		if stream.Batch != c.Batch {
			errs = append(errs, fmt.Errorf("%s: batches of %d images, but the batch is %d (give augment and pretrain the same --batch)", stream.Name, stream.Batch, c.Batch))
		}
	} else if len(data.Label) != data.Len() || len(data.Pixels) != data.Len()*augment.ImageLen {
		errs = append(errs, fmt.Errorf("dataset of %d indices has %d labels and %d pixel bytes", data.Len(), len(data.Label), len(data.Pixels)))
	}
	if images < c.Batch {
		errs = append(errs, fmt.Errorf("%d images is less than one batch of %d", images, c.Batch))
	}
	if c.Epochs < 1 || c.Epochs > MaxEpochs {
		errs = append(errs, fmt.Errorf("epochs %d: want 1 to %d", c.Epochs, MaxEpochs))
	}
	if c.WarmupEpochs < 0 || c.WarmupEpochs > max(c.Epochs, 0) {
		errs = append(errs, fmt.Errorf("warmup epochs %d: want 0 to the %d epochs", c.WarmupEpochs, c.Epochs))
	}
	// !(x > 0) and the like are true for NaN too.
	if !(c.Tau > 0 && c.Tau <= 100) {
		errs = append(errs, fmt.Errorf("tau %g: want > 0, at most 100", c.Tau))
	}
	if !(c.LR > 0 && c.LR <= 10) {
		errs = append(errs, fmt.Errorf("learning rate %g: want > 0, at most 10", c.LR))
	}
	if !(c.Momentum >= 0 && c.Momentum <= 1) || !(c.WeightDecay >= 0 && c.WeightDecay <= 1) {
		errs = append(errs, fmt.Errorf("momentum %g, weight decay %g: want 0 to 1", c.Momentum, c.WeightDecay))
	}
	if c.ProjHidden < 1 || c.ProjOut < 1 || c.ProjHidden > MaxWidth || c.ProjOut > MaxWidth {
		errs = append(errs, fmt.Errorf("projection widths %d, %d: want 1 to %d", c.ProjHidden, c.ProjOut, MaxWidth))
	}
	if err := c.Augment.Validate(); err != nil {
		errs = append(errs, err)
	}
	if (c.Mean != nil || c.Std != nil) && (len(c.Mean) != augment.Channels || len(c.Std) != augment.Channels) {
		errs = append(errs, fmt.Errorf("normalisation of %d means and %d deviations, want %d of each", len(c.Mean), len(c.Std), augment.Channels))
	}
	if c.Classes < 0 || c.Classes > 256 {
		errs = append(errs, fmt.Errorf("classes %d: want 1 to 256 (0: %d)", c.Classes, Classes))
	} else if c.Objective == ObjectiveSupervised {
		for i, y := range data.Label {
			if int(y) >= c.NumClasses() {
				errs = append(errs, fmt.Errorf("image %d: label %d, but the classifier has %d classes", i, y, c.NumClasses()))
				break
			}
		}
	}
	return errors.Join(errs...)
}

// Views is the number of views a step feeds the encoder, over all ranks.
func (t *Trainer) Views() int { return t.obj.views() * t.Cfg.Batch }

// rows is the number of views a step feeds this rank's encoder.
func (t *Trainer) rows() int { return t.obj.views() * t.Cfg.Batch / ranks(t.comm) }

// StepsPerEpoch is the number of full batches in an epoch; the last,
// incomplete one is dropped.
func (t *Trainer) StepsPerEpoch() int { return t.images() / t.Cfg.Batch }

// images is the size of the dataset an epoch passes over.
func (t *Trainer) images() int {
	if t.stream != nil {
		return t.stream.Images
	}
	return t.data.Len()
}

// GlobalStep counts the steps taken over the whole run.
func (t *Trainer) GlobalStep() int { return t.Epoch*t.StepsPerEpoch() + t.Step }

// TotalSteps is the length of the run in steps.
func (t *Trainer) TotalSteps() int { return t.Cfg.Epochs * t.StepsPerEpoch() }

// Done reports whether the run is complete.
func (t *Trainer) Done() bool { return t.Epoch >= t.Cfg.Epochs }

// LR is the learning rate of the next step: warmup then cosine.
func (t *Trainer) LR() float32 {
	spe := t.StepsPerEpoch()
	return optim.WarmupCosine(t.Cfg.LR, t.GlobalStep(), t.Cfg.WarmupEpochs*spe, t.TotalSteps())
}

// ErrNonFinite reports a NaN or infinite loss; the step is not applied.
var ErrNonFinite = errors.New("loss is not finite")

// StepResult is what one step reports.
type StepResult struct {
	Epoch, Step, GlobalStep int
	Loss, LR                float32
	EpochDone               bool    // this step completed an epoch
	EpochLoss               float64 // its mean loss, when EpochDone
}

// TrainStep runs one step: augment the next batch (prefetched), forward,
// loss, backward, update.
func (t *Trainer) TrainStep() (StepResult, error) {
	if t.Done() {
		return StepResult{}, errors.New("train: the run is already complete")
	}
	if t.feed == nil {
		t.feed = newFeeder(t)
	}
	start := time.Now()
	b, err := t.feed.next()
	if err != nil {
		return StepResult{}, err
	}
	defer t.feed.recycle(b)
	rows := t.rows()
	nn.ZeroGrads(t.params)
	l := t.obj.forward(t.Enc.Forward(b.x, rows), b.labels, rows)
	res := StepResult{Epoch: t.Epoch, Step: t.Step, GlobalStep: t.GlobalStep(), Loss: l, LR: t.LR()}
	if math.IsNaN(float64(l)) || math.IsInf(float64(l), 0) {
		return res, fmt.Errorf("epoch %d step %d: %w (%v)", t.Epoch+1, t.Step+1, ErrNonFinite, l)
	}
	t.Enc.Backward(t.obj.backward(rows), rows)
	t.sumGrads()
	t.Opt.Step(res.LR)
	t.EpochLossSum += float64(l)
	if t.Seconds >= 0 {
		t.Seconds += time.Since(start).Seconds()
	}
	t.Step++
	if t.Step == t.StepsPerEpoch() {
		res.EpochDone, res.EpochLoss = true, t.EpochLossSum/float64(t.Step)
		t.History = append(t.History, res.EpochLoss)
		t.Epoch, t.Step, t.EpochLossSum = t.Epoch+1, 0, 0
	}
	return res, nil
}

// Close stops the prefetching goroutine.
func (t *Trainer) Close() {
	if t.feed != nil {
		t.feed.stop()
		t.feed = nil
	}
}
