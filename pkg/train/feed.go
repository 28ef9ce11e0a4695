package train

import "github.com/simclr-go/simclr/pkg/augment"

// batch is one step's input: V views of B images as normalised NHWC
// floats, view-major (view 0 of every image, then view 1), the layout
// NT-Xent expects, and the B images' labels.
type batch struct {
	x      []float32
	labels []uint8
	err    error // the source failed; no more batches follow
}

// feeder augments batches on a goroutine of its own, one step ahead of
// training, so the GEMM threads never wait for data. Its order depends only
// on the seed and the position, which is what makes resuming exact.
type feeder struct {
	out, free chan *batch
	quit      chan struct{}
}

func newFeeder(t *Trainer) *feeder {
	f := &feeder{out: make(chan *batch, 1), free: make(chan *batch, 2), quit: make(chan struct{})}
	// With ranks, this one's share of each step's images.
	nv, all, b := t.obj.views(), t.Cfg.Batch, t.Cfg.Batch/ranks(t.comm)
	lo := rank(t.comm) * b
	views := nv * b
	for range 2 {
		f.free <- &batch{x: make([]float32, views*augment.ImageLen), labels: make([]uint8, b)}
	}
	if t.stream != nil {
		go f.fromStream(t.stream, nv, b, t.GlobalStep(), t.Cfg)
		return f
	}
	data, epochs := t.data, t.Cfg.Epochs
	mean, std := t.Cfg.Normalization()
	epoch, step, spe := t.Epoch, t.Step, t.StepsPerEpoch()
	aug := augment.Batcher{Config: t.Cfg.Augment, Seed: t.Cfg.Seed, Views: nv, Workers: 1}
	go func() {
		pix := make([]uint8, views*augment.ImageLen)
		for ; epoch < epochs; epoch, step = epoch+1, 0 {
			perm := augment.Order(aug.Seed, epoch, data.Len())
			for ; step < spe; step++ {
				bt := f.take()
				if bt == nil {
					return
				}
				rows := perm[step*all+lo : step*all+lo+b]
				aug.Batch(pix, data, epoch, rows)
				for i, p := range rows {
					bt.labels[i] = data.Label[p]
				}
				augment.ToNHWC(bt.x, pix, mean, std)
				if !f.send(bt) {
					return
				}
			}
		}
	}()
	return f
}

// send hands a batch to the trainer; false when the trainer has stopped.
func (f *feeder) send(b *batch) bool {
	select {
	case f.out <- b:
		return true
	case <-f.quit:
		return false
	}
}

// take waits for a free batch buffer; nil when the trainer has stopped.
func (f *feeder) take() *batch {
	select {
	case b := <-f.free:
		return b
	case <-f.quit:
		return nil
	}
}

func (f *feeder) next() (*batch, error) {
	b := <-f.out
	if b.err != nil {
		return nil, b.err
	}
	return b, nil
}

func (f *feeder) recycle(b *batch) { f.free <- b }
func (f *feeder) stop()            { close(f.quit) }
