package loss

import "math"

// SoftmaxCrossEntropy turns each row of logits z ([len(labels)][classes])
// into the gradient of scale·(its cross-entropy loss), softmax minus the
// one-hot label, scaled; it returns the unscaled summed loss. With scale
// 1/rows that is the gradient of the batch mean, as F.cross_entropy's.
func SoftmaxCrossEntropy(z []float32, labels []uint8, classes int, scale float32) float64 {
	var total float64
	for i, label := range labels {
		zi := z[i*classes : (i+1)*classes]
		zmax := float32(math.Inf(-1))
		for _, v := range zi {
			zmax = max(zmax, v)
		}
		var sum float64
		for c, v := range zi {
			e := math.Exp(float64(v - zmax))
			zi[c] = float32(e)
			sum += e
		}
		total -= math.Log(float64(zi[label]) / sum)
		for c, v := range zi {
			zi[c] = float32(float64(v)/sum) * scale
		}
		zi[label] -= scale
	}
	return total
}
