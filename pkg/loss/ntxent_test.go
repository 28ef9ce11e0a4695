package loss

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/simclr-go/simclr/pkg/kern"
)

type ntxentCase struct {
	Views, Dim int
	Tau        float32
	Z          []float32
	Loss       float64
	Grad       []float64
}

func TestNTXentMatchesPyTorch(t *testing.T) {
	raw, err := os.ReadFile("testdata/ntxent.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []ntxentCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		l := NewNTXent(c.Tau, c.Views+2, c.Dim, kern.Default())
		got := l.Forward(c.Z, c.Views)
		if d := math.Abs(float64(got) - c.Loss); d > 1e-5*max(1, math.Abs(c.Loss)) {
			t.Errorf("views=%d tau=%g: loss %.7f, PyTorch %.7f", c.Views, c.Tau, got, c.Loss)
		}
		dz := make([]float32, c.Views*c.Dim)
		l.Backward(dz, c.Views, 1)
		for i, w := range c.Grad {
			if d := math.Abs(float64(dz[i]) - w); d > 1e-5*max(1, math.Abs(w)) {
				t.Fatalf("views=%d tau=%g: grad[%d] = %.8f, PyTorch %.8f", c.Views, c.Tau, i, dz[i], w)
			}
		}
	}
}

// Two images whose views coincide and whose directions are orthogonal: each
// row sees its positive at logit 1/τ = 2 and two negatives at 0.
func TestNTXentClosedForm(t *testing.T) {
	z := []float32{1, 0, 0, 1, 1, 0, 0, 1}
	l := NewNTXent(0.5, 4, 2, kern.Default())
	got := l.Forward(z, 4)
	want := -math.Log(math.Exp(2) / (math.Exp(2) + 2))
	if math.Abs(float64(got)-want) > 1e-6 {
		t.Fatalf("loss %g, want %g", got, want)
	}
}

func TestNTXentRejectsOddBatch(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for 5 views")
		}
	}()
	NewNTXent(0.5, 8, 2, kern.Default()).Forward(make([]float32, 10), 5)
}
