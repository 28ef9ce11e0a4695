package kern_test

import (
	"math"
	"testing"

	"github.com/simclr-go/simclr/pkg/kern"
	"gonum.org/v1/gonum/blas/gonum"
	"gorgonia.org/tensor"
)

func matmul(t testing.TB, a, b *tensor.Dense) []float32 {
	c, err := tensor.MatMul(a, b)
	if err != nil {
		t.Fatal(err)
	}
	return c.Data().([]float32)
}

func ramp(rows, cols int) *tensor.Dense {
	return tensor.New(tensor.WithShape(rows, cols), tensor.WithBacking(tensor.Range(tensor.Float32, 0, rows*cols)))
}

func TestTensorMatMulOnKern(t *testing.T) {
	a, b := ramp(67, 45), ramp(45, 39)
	want := matmul(t, a, b)
	tensor.Use(kern.BLAS{Engine: kern.Default()})
	defer tensor.Use(gonum.Implementation{})
	got := matmul(t, a, b)
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-6*math.Abs(float64(want[i])) {
			t.Fatalf("element %d: kern %g, gonum %g", i, got[i], want[i])
		}
	}
}

func BenchmarkTensorMatMul512(b *testing.B) {
	defer tensor.Use(gonum.Implementation{})
	x, y := ramp(512, 512), ramp(512, 512)
	for _, impl := range []struct {
		name string
		blas tensor.BLAS
	}{{"gonum", gonum.Implementation{}}, {"kern", kern.BLAS{Engine: kern.Default()}}} {
		b.Run(impl.name, func(b *testing.B) {
			tensor.Use(impl.blas)
			for i := 0; i < b.N; i++ {
				matmul(b, x, y)
			}
			b.ReportMetric(2*512*512*512*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
