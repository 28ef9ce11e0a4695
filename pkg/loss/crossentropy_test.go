package loss

import (
	"math"
	"testing"
)

func TestSoftmaxCrossEntropy(t *testing.T) {
	// Row 0: logits 0, ln 3 -> softmax 1/4, 3/4; label 1 -> loss ln(4/3).
	// Row 1: equal logits over 2 classes -> loss ln 2.
	z := []float32{0, float32(math.Log(3)), 5, 5}
	loss := SoftmaxCrossEntropy(z, []uint8{1, 0}, 2, 0.5)
	if want := math.Log(4.0/3) + math.Log(2); math.Abs(loss-want) > 1e-6 {
		t.Errorf("loss %g, want %g", loss, want)
	}
	want := []float32{0.5 * 0.25, 0.5 * (0.75 - 1), 0.5 * (0.5 - 1), 0.5 * 0.5}
	for i := range want {
		if math.Abs(float64(z[i]-want[i])) > 1e-6 {
			t.Errorf("grad[%d] = %g, want %g", i, z[i], want[i])
		}
	}
}

// A large logit must not overflow: the softmax is taken around the maximum.
func TestSoftmaxCrossEntropyStable(t *testing.T) {
	z := []float32{1000, 0}
	if loss := SoftmaxCrossEntropy(z, []uint8{0}, 2, 1); loss > 1e-6 || math.IsNaN(loss) {
		t.Fatalf("loss %g, want ~0", loss)
	}
}
