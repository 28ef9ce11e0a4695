package kern

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// BLAS is gonum's pure-Go BLAS with Sgemm replaced by Engine's, so that
// gorgonia.org/tensor's float32 MatMul runs on our kernels:
//
//	tensor.Use(kern.BLAS{Engine: e})
type BLAS struct {
	gonum.Implementation
	Engine *Engine
}

// Sgemm implements blas.Float32's general matrix multiply.
func (impl BLAS) Sgemm(tA, tB blas.Transpose, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	impl.Engine.Sgemm(tA != blas.NoTrans, tB != blas.NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
