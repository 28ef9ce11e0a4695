package linprobe

import (
	"fmt"
	"math"

	"github.com/simclr-go/simclr/pkg/kern"
)

// KNN defaults, as in the kNN monitor of InstDisc and MoCo.
const (
	DefaultK           = 200
	DefaultTemperature = 0.1
)

// Block sizes of the similarity computation: a block of test rows against a
// chunk of training rows at a time, 16 MB of similarities, whatever the sizes
// of the sets.
const (
	knnTestBlock  = 1024
	knnTrainChunk = 4096
)

// KNN classifies each test row by a weighted vote of its k nearest training
// rows: similarity is the cosine (the dot product of L2-normalised rows),
// and each neighbour votes for its label with weight exp(sim/temperature).
// Ties go to the lower class.
func KNN(eng *kern.Engine, train []float32, trainY []uint8, test []float32, dim, classes, k int, temperature float64) ([]uint8, error) {
	if err := checkData(train, trainY, dim, classes); err != nil {
		return nil, fmt.Errorf("training set: %w", err)
	}
	switch {
	case len(test)%dim != 0:
		return nil, fmt.Errorf("test set: %d feature values, not rows of width %d", len(test), dim)
	case k < 1 || k > len(trainY):
		return nil, fmt.Errorf("k = %d, want 1 to the %d training rows", k, len(trainY))
	case !(temperature > 0):
		return nil, fmt.Errorf("temperature %g, want > 0", temperature)
	}
	ntrain, ntest := len(trainY), len(test)/dim
	train, test = normalized(eng, train, dim), normalized(eng, test, dim)

	pred := make([]uint8, ntest)
	bt := min(knnTestBlock, ntest)
	sims := make([]float32, bt*min(knnTrainChunk, ntrain))
	heaps := make([]topK, bt)
	for i := range heaps {
		heaps[i] = topK{sim: make([]float32, k), idx: make([]int32, k)}
	}
	for t0 := 0; t0 < ntest; t0 += bt {
		m := min(bt, ntest-t0)
		for i := range m {
			heaps[i].reset()
		}
		for r0 := 0; r0 < ntrain; r0 += knnTrainChunk {
			n := min(knnTrainChunk, ntrain-r0)
			s := sims[:m*n]
			eng.Sgemm(false, true, m, n, dim, 1, test[t0*dim:(t0+m)*dim], dim, train[r0*dim:(r0+n)*dim], dim, 0, s, n)
			eng.Parallel(m, func(lo, hi int) {
				for i := lo; i < hi; i++ {
					h := &heaps[i]
					for j, v := range s[i*n : (i+1)*n] {
						if v > h.sim[0] {
							h.replaceMin(v, int32(r0+j))
						}
					}
				}
			})
		}
		eng.Parallel(m, func(lo, hi int) {
			votes := make([]float64, classes)
			for i := lo; i < hi; i++ {
				clear(votes)
				h := &heaps[i]
				for j, v := range h.sim {
					votes[trainY[h.idx[j]]] += math.Exp(float64(v) / temperature)
				}
				pred[t0+i] = uint8(argmax(votes))
			}
		})
	}
	return pred, nil
}

// normalized returns a copy of the rows of x scaled to unit L2 norm; a zero
// row stays zero.
func normalized(eng *kern.Engine, x []float32, dim int) []float32 {
	out := make([]float32, len(x))
	eng.Parallel(len(x)/dim, func(lo, hi int) {
		for i := lo * dim; i < hi*dim; i += dim {
			var ss float64
			for _, v := range x[i : i+dim] {
				ss += float64(v) * float64(v)
			}
			if ss == 0 {
				continue
			}
			inv := float32(1 / math.Sqrt(ss))
			for j, v := range x[i : i+dim] {
				out[i+j] = v * inv
			}
		}
	})
	return out
}

// topK keeps the k largest similarities seen, as a min-heap: sim[0] is the
// smallest kept, the bar a new one must clear.
type topK struct {
	sim []float32
	idx []int32
}

// reset fills the heap with -Inf, which any similarity beats; k never
// exceeds the number of training rows, so all are replaced.
func (h *topK) reset() {
	for i := range h.sim {
		h.sim[i], h.idx[i] = float32(math.Inf(-1)), 0
	}
}

// replaceMin puts (v, idx) in place of the smallest and restores the heap.
func (h *topK) replaceMin(v float32, idx int32) {
	i, n := 0, len(h.sim)
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && h.sim[c+1] < h.sim[c] {
			c++
		}
		if v <= h.sim[c] {
			break
		}
		h.sim[i], h.idx[i] = h.sim[c], h.idx[c]
		i = c
	}
	h.sim[i], h.idx[i] = v, idx
}
