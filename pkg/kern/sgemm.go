// Package kern holds the float32 compute kernels every layer stands on:
// a packed, cache-blocked GEMM with an AVX-512 micro-kernel and a portable
// pure-Go fallback, chosen once at start-up by CPU-feature detection.
package kern

import "fmt"

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices,
// where op(X) is X or its transpose. op(A) is m×k, op(B) is k×n, C is m×n.
// lda, ldb and ldc are the row strides of A, B and C as stored.
// It panics on inconsistent shapes: that is a programming error.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if m == 0 || n == 0 {
		return
	}
	sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func checkGemm(transA, transB bool, m, n, k, la, lda, lb, ldb, lc, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kern: negative gemm size m=%d n=%d k=%d", m, n, k))
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	check := func(name string, rows, cols, ld, l int) {
		if rows == 0 || cols == 0 {
			return
		}
		if ld < cols {
			panic(fmt.Sprintf("kern: %s stride %d < %d columns", name, ld, cols))
		}
		if need := (rows-1)*ld + cols; l < need {
			panic(fmt.Sprintf("kern: %s has %d elements, %d×%d with stride %d needs %d", name, l, rows, cols, ld, need))
		}
	}
	check("A", ar, ac, lda, la)
	check("B", br, bc, ldb, lb)
	check("C", m, n, ldc, lc)
}
