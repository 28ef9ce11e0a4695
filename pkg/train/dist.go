package train

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"slices"

	"github.com/simclr-go/simclr/pkg/dist"
)

// ranks is the number of processes of a run, one without a Comm.
func ranks(c dist.Comm) int {
	if c == nil {
		return 1
	}
	return c.Size()
}

// rank is this process's rank, 0 without a Comm.
func rank(c dist.Comm) int {
	if c == nil {
		return 0
	}
	return c.Rank()
}

// distributable refuses a run that the ranks of comm cannot share.
func distributable(cfg Config, stream *Stream, comm dist.Comm) error {
	if comm == nil {
		return nil
	}
	var errs []error
	if stream != nil {
		errs = append(errs, fmt.Errorf("%s: a view stream feeds one process; give every rank the image table", stream.Name))
	}
	if r := comm.Size(); cfg.Batch%r != 0 {
		errs = append(errs, fmt.Errorf("batch %d does not split evenly over %d ranks: want a multiple of %d", cfg.Batch, r, r))
	}
	return errors.Join(errs...)
}

// synchronise makes the batch norms of the encoder and the projection head
// take their statistics over every rank's rows, and sizes the buffer the
// gradients are added up in.
func (t *Trainer) synchronise() {
	bns := t.Enc.BatchNorms()
	if s, ok := t.obj.(*simclr); ok {
		bns = append(bns, s.head.BatchNorms()...)
	}
	for _, bn := range bns {
		bn.Group = t.comm
	}
	n := 0
	for _, p := range t.params {
		n += len(p.Grad)
	}
	t.grads = make([]float32, n)
}

// sumGrads adds up the ranks' parameter gradients, in one call over one
// buffer. The loss is the mean over the global batch and each rank's
// backward is its gradient through that rank's rows only, so the sum over
// the ranks, not their mean, is the gradient of one process.
func (t *Trainer) sumGrads() {
	if t.comm == nil {
		return
	}
	off := 0
	for _, p := range t.params {
		off += copy(t.grads[off:], p.Grad)
	}
	t.comm.AllreduceSum32(t.grads)
	off = 0
	for _, p := range t.params {
		off += copy(p.Grad, t.grads[off:])
	}
}

// replicate gives every rank rank 0's weights, running statistics and
// optimizer state, so that the ranks start from one state whatever each
// initialised or loaded, and then checks that they agree on the rest.
func (t *Trainer) replicate() error {
	if t.comm == nil {
		return nil
	}
	s := t.state()
	for _, p := range s.Params {
		t.comm.Bcast32(p.Data, 0)
	}
	for _, b := range s.Buffers {
		t.comm.Bcast32(b.Data, 0)
	}
	return t.InSync()
}

// InSync checks that every rank holds the same run, bit for bit: config,
// weights, buffers, optimizer state, position, loss history and the number of
// images, compared by a hash
// gathered from each rank. It is collective (every rank calls it at the
// same step) and returns the same error on every rank; without a Comm it
// is nil at no cost.
func (t *Trainer) InSync() error {
	if t.comm == nil {
		return nil
	}
	mine := binary.LittleEndian.AppendUint64(nil, t.hash())
	all := make([]byte, len(mine)*t.comm.Size())
	t.comm.AllgatherBytes(mine, all)
	var odd []int
	for r := 1; r < t.comm.Size(); r++ {
		if !slices.Equal(all[r*8:r*8+8], all[:8]) {
			odd = append(odd, r)
		}
	}
	if len(odd) > 0 {
		return fmt.Errorf("the ranks have diverged at epoch %d step %d: rank 0's state differs from that of ranks %v (a bug, or ranks given different data or checkpoints)", t.Epoch, t.Step, odd)
	}
	return nil
}

// hash is the 64-bit FNV-1a hash of the run's state, every value in
// little-endian bytes.
func (t *Trainer) hash() uint64 {
	h := fnv.New64a()
	cfg, _ := json.Marshal(t.Cfg) // a Config always marshals
	h.Write(cfg)
	put := func(v any) { binary.Write(h, binary.LittleEndian, v) } // writing to a hash cannot fail
	s := t.state()
	for _, p := range s.Params {
		put(p.Data)
	}
	for _, b := range s.Buffers {
		put(b.Data)
	}
	for _, c := range s.Counters {
		put(c.N)
	}
	put(t.History)
	put([]int64{int64(t.images()), *t.Opt.Steps(), int64(t.Epoch), int64(t.Step)})
	put(t.EpochLossSum)
	return h.Sum64()
}
