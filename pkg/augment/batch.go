package augment

import (
	"math/rand/v2"
	"slices"
)

// Images is a table of images held in memory, in table order: what batches
// of views are drawn from.
type Images struct {
	Pixels []uint8 // Len()*ImageLen bytes, CHW
	Index  []int32 // each image's index in its split, which seeds its views
	Label  []uint8 // each image's class
}

// Len is the number of images.
func (t Images) Len() int { return len(t.Index) }

// Order is the order in which epoch visits n images: a permutation of
// 0..n-1 drawn from seed and epoch alone. Batch k of size b is
// Order(...)[k*b:(k+1)*b]. The augment tool streams epochs in this order
// and pretrain, augmenting in-process, trains in it, which is what makes
// `augment | pretrain` train as pretrain alone does.
func Order(seed uint64, epoch, n int) []int {
	return rand.New(rand.NewPCG(seed, uint64(epoch))).Perm(n)
}

// Batcher makes batches of views of Images: Views views of each image of a
// batch, by Config and Seed, on Workers goroutines (Config.Batch). It keeps
// scratch space between calls, so it serves one goroutine at a time.
type Batcher struct {
	Config  Config
	Seed    uint64
	Views   int
	Workers int

	src []uint8 // the batch's images, back to back
	idx []int   // and their dataset indices
}

// Batch writes to dst the views for epoch of t's images rows (row numbers,
// a slice of Order's permutation), view-major: image v*len(rows)+i of dst
// is view v of image rows[i]. dst holds len(rows)*Views*ImageLen bytes.
func (b *Batcher) Batch(dst []uint8, t Images, epoch int, rows []int) {
	n := len(rows)
	b.src = slices.Grow(b.src[:0], n*ImageLen)[:n*ImageLen]
	b.idx = slices.Grow(b.idx[:0], n)[:n]
	for i, r := range rows {
		copy(b.src[i*ImageLen:(i+1)*ImageLen], t.Pixels[r*ImageLen:(r+1)*ImageLen])
		b.idx[i] = int(t.Index[r])
	}
	b.Config.Batch(dst, b.src, b.Seed, epoch, b.idx, b.Views, b.Workers)
}
