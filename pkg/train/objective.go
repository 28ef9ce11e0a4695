package train

import (
	"fmt"
	"math/rand/v2"

	"github.com/simclr-go/simclr/pkg/kern"
	"github.com/simclr-go/simclr/pkg/loss"
	"github.com/simclr-go/simclr/pkg/model"
	"github.com/simclr-go/simclr/pkg/nn"
)

// Objectives the encoder can be trained for.
const (
	ObjectiveSimCLR     = "simclr"     // NT-Xent over two views through the projection head
	ObjectiveSupervised = "supervised" // cross-entropy on labels through a linear classifier
)

// Classes is the supervised classifier's width when the config does not say
// (Config.Classes 0, as in checkpoints from before it did): CIFAR-10's labels.
const Classes = 10

// NumClasses is the supervised classifier's width: Classes unless set.
func (c Config) NumClasses() int {
	if c.Classes > 0 {
		return c.Classes
	}
	return Classes
}

// objective is the part of the network above the encoder and its loss.
type objective interface {
	views() int // views of each image per step
	init(r *rand.Rand)
	state() model.State
	// forward returns the mean loss of the features of a batch (n rows,
	// view-major) whose images have the given labels.
	forward(feat []float32, labels []uint8, n int) float32
	// backward adds the gradients of its own parameters and returns the
	// gradient of the features of the last forward.
	backward(n int) []float32
}

func newObjective(eng *kern.Engine, cfg Config, maxRows int) (objective, error) {
	switch cfg.Objective {
	case ObjectiveSimCLR:
		return &simclr{
			head: model.NewHead(model.FeatureDim, cfg.ProjHidden, cfg.ProjOut, maxRows, eng),
			nt:   loss.NewNTXent(cfg.Tau, maxRows, cfg.ProjOut, eng),
			dz:   make([]float32, maxRows*cfg.ProjOut),
		}, nil
	case ObjectiveSupervised:
		k := cfg.NumClasses()
		return &supervised{
			fc:      nn.NewLinear("fc", model.FeatureDim, k, eng),
			classes: k,
			logits:  make([]float32, maxRows*k),
			dfeat:   make([]float32, maxRows*model.FeatureDim),
		}, nil
	}
	return nil, fmt.Errorf("unknown objective %q (want %s or %s)", cfg.Objective, ObjectiveSimCLR, ObjectiveSupervised)
}

// simclr is the projection head g and NT-Xent over sibling views.
type simclr struct {
	head *model.Head
	nt   *loss.NTXent
	dz   []float32
}

func (s *simclr) views() int         { return 2 }
func (s *simclr) init(r *rand.Rand)  { s.head.Init(r) }
func (s *simclr) state() model.State { return s.head.State() }

func (s *simclr) forward(feat []float32, _ []uint8, n int) float32 {
	return s.nt.Forward(s.head.Forward(feat, n), n)
}

func (s *simclr) backward(n int) []float32 {
	s.nt.Backward(s.dz, n, 1)
	return s.head.Backward(s.dz, n)
}

// supervised is torchvision's classifier "fc" and softmax cross-entropy:
// the supervised baseline, whose checkpoint loads whole into resnet18.
type supervised struct {
	fc            *nn.Linear
	classes       int
	feat          []float32
	logits, dfeat []float32
}

func (s *supervised) views() int        { return 1 }
func (s *supervised) init(r *rand.Rand) { s.fc.Init(r) }
func (s *supervised) state() model.State {
	return model.State{Params: s.fc.Params()}
}

func (s *supervised) forward(feat []float32, labels []uint8, n int) float32 {
	s.feat = feat
	z := s.logits[:n*s.classes]
	s.fc.Forward(z, feat, n)
	// z becomes the gradient of the mean loss with respect to the logits.
	return float32(loss.SoftmaxCrossEntropy(z, labels[:n], s.classes, 1/float32(n)) / float64(n))
}

func (s *supervised) backward(n int) []float32 {
	s.fc.Backward(s.dfeat, s.logits[:n*s.classes], s.feat, n)
	return s.dfeat[:n*model.FeatureDim]
}
