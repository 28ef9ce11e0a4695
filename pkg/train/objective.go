package train

import (
	"fmt"
	"math/rand/v2"

	"github.com/simclr-go/simclr/pkg/dist"
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

// newObjective builds the objective for this process's local images of
// each step (cfg.Batch over the ranks of comm, all of them without one).
func newObjective(eng *kern.Engine, cfg Config, local int, comm dist.Comm) (objective, error) {
	switch cfg.Objective {
	case ObjectiveSimCLR:
		rows, all := 2*local, 2*cfg.Batch
		s := &simclr{
			head: model.NewHead(model.FeatureDim, cfg.ProjHidden, cfg.ProjOut, rows, eng),
			nt:   loss.NewNTXent(cfg.Tau, all, cfg.ProjOut, eng),
			dz:   make([]float32, rows*cfg.ProjOut),
			comm: comm, dim: cfg.ProjOut,
		}
		if comm != nil {
			buf := func() []float32 { return make([]float32, all*cfg.ProjOut) }
			s.gathered, s.z, s.dzAll = buf(), buf(), buf()
		}
		return s, nil
	case ObjectiveSupervised:
		if comm != nil {
			return nil, fmt.Errorf("the %s objective trains in one process; only %s trains distributed", ObjectiveSupervised, ObjectiveSimCLR)
		}
		k := cfg.NumClasses()
		return &supervised{
			fc:      nn.NewLinear("fc", model.FeatureDim, k, eng),
			classes: k,
			logits:  make([]float32, local*k),
			dfeat:   make([]float32, local*model.FeatureDim),
		}, nil
	}
	return nil, fmt.Errorf("unknown objective %q (want %s or %s)", cfg.Objective, ObjectiveSimCLR, ObjectiveSupervised)
}

// simclr is the projection head g and NT-Xent over sibling views.
//
// With a Comm, the head runs on this rank's rows and NT-Xent on every
// rank's: the projections are gathered into the step's global batch, each
// rank computes the whole loss and its gradient (the same on every rank,
// and cheap beside the encoder), and backpropagates the rows it projected.
// So every view meets all the batch's negatives, as in one process.
type simclr struct {
	head *model.Head
	nt   *loss.NTXent
	dz   []float32

	comm               dist.Comm
	dim                int       // of the projections
	gathered, z, dzAll []float32 // [ranks][rows][dim] as gathered, and the global batch's z and dz
}

func (s *simclr) views() int         { return 2 }
func (s *simclr) init(r *rand.Rand)  { s.head.Init(r) }
func (s *simclr) state() model.State { return s.head.State() }

func (s *simclr) forward(feat []float32, _ []uint8, n int) float32 {
	z := s.head.Forward(feat, n)
	if s.comm == nil {
		return s.nt.Forward(z, n)
	}
	ranks, d := s.comm.Size(), s.dim
	s.comm.Allgather32(z, s.gathered[:ranks*len(z)])
	for r := range ranks {
		for l := range n {
			g := globalRow(l, r, n/2, ranks)
			copy(s.z[g*d:(g+1)*d], s.gathered[(r*n+l)*d:])
		}
	}
	return s.nt.Forward(s.z, ranks*n)
}

func (s *simclr) backward(n int) []float32 {
	if s.comm == nil {
		s.nt.Backward(s.dz, n, 1)
		return s.head.Backward(s.dz, n)
	}
	ranks, d, rank := s.comm.Size(), s.dim, s.comm.Rank()
	s.nt.Backward(s.dzAll, ranks*n, 1)
	for l := range n {
		g := globalRow(l, rank, n/2, ranks)
		copy(s.dz[l*d:(l+1)*d], s.dzAll[g*d:])
	}
	return s.head.Backward(s.dz, n)
}

// globalRow is where local row l of rank r sits in the global batch, both
// view-major: rank r holds images [r*b, (r+1)*b) of each step's
// ranks*b, so its row v*b + i (view v of its image i) is the global row
// v*ranks*b + r*b + i.
func globalRow(l, r, b, ranks int) int {
	v, i := l/b, l%b
	return v*ranks*b + r*b + i
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
