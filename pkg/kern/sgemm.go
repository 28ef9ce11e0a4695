// Package kern holds the float32 compute kernels every layer stands on:
// a packed, cache-blocked GEMM and the vector loops between GEMMs, with
// bodies for AVX-512 and AVX2 beside portable Go ones (Backend). They run
// as methods of an Engine, which a caller chooses once (New) and gives to
// every layer: a backend, a thread count and a precision policy. The
// purego build tag keeps Go only.
package kern

import (
	"fmt"
)

// Blocking as in Goto's GEMM: an mr×nr tile of C lives in registers, a
// kc×nr panel of packed B stays in L1, an mc×kc block of packed A in L2.
const (
	mr = 12
	nr = 32
	kc = 256
	mc = 16 * mr
	nc = 32 * nr
)

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices,
// where op(X) is X or its transpose. op(A) is m×k, op(B) is k×n, C is m×n.
// lda, ldb and ldc are the row strides of A, B and C as stored.
// It panics on inconsistent shapes: that is a programming error.
func (e *Engine) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	e.sgemm(false, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmIn is Sgemm in precision p: for BF16 it rounds A and B to bfloat16
// and accumulates in float32 where that pays (see minBF16Side), and runs in
// float32 elsewhere.
func (e *Engine) SgemmIn(p Precision, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	bf16 := p == BF16 && !transA && min(m, n) >= minBF16Side
	e.sgemm(bf16, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func (e *Engine) sgemm(bf16, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if m == 0 || n == 0 {
		return
	}
	e.run(gemm{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
		b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, bf16: bf16})
}

// run computes g on a pooled copy: a gemm handed to the workers must live
// on the heap, and a new one per call would allocate.
func (e *Engine) run(g gemm) {
	p := gemms.Get()
	*p = g
	p.be = e.be
	// Split C into as many strips as there are threads along its longer
	// side, in whole tiles, so each worker packs and writes only its own.
	long, tile := g.m, mr
	if g.m < g.n {
		long, tile = g.n, nr
	}
	p.strips = min(e.threads, (long+tile-1)/tile)
	e.ParallelTask(p.strips, p)
	*p = gemm{} // keep no reference to the caller's matrices
	gemms.Put(p)
}

var gemms FreeList[gemm]

// Run computes strips [lo, hi) of C.
func (g *gemm) Run(lo, hi int) {
	if g.m >= g.n {
		g.block(tileSplit(g.m, mr, g.strips, lo), tileSplit(g.m, mr, g.strips, hi), 0, g.n)
	} else {
		g.block(0, g.m, tileSplit(g.n, nr, g.strips, lo), tileSplit(g.n, nr, g.strips, hi))
	}
}

// tileSplit is the start of strip s of parts over [0, n) in whole tiles.
func tileSplit(n, tile, parts, s int) int {
	tiles := (n + tile - 1) / tile
	return min(n, tiles*s/parts*tile)
}

type gemm struct {
	transA, transB bool
	m, n, k        int
	alpha          float32
	a              []float32
	lda            int
	b              []float32
	ldb            int
	beta           float32
	c              []float32
	ldc            int
	bf16           bool     // round the inputs to bfloat16 (SgemmIn)
	pairs          []uint32 // A already in bf16 pairs (SgemmPairs), rows ldp apart
	ldp            int
	strips         int // parts of C split over the workers
	be             *Backend
}

// maxInPlaceBRows is the tallest strip of C for which float32 GEMMs read a
// row-major B in place rather than pack it (measured on ResNet's weight
// gradients, whose 64-row strips use each value of B five times).
const maxInPlaceBRows = 8 * mr

// minBF16Side is the smallest C side for which bf16 mode converts the
// operands: each packed value then serves at least this many outputs.
// Below it (the ResNet weight gradients of 64 channels, say) conversion
// costs more than the faster multiply saves, and float32 is kept; so it is
// for a transposed A, whose pairs must be gathered from two rows
// (measured: the weight-gradient GEMMs ran slower in bf16).
const minBF16Side = 128

// scratch is one worker's packing space, reused across calls.
type scratch struct {
	a     [mc * kc]float32
	b     [kc * nc]float32
	tile  [mr * nr]float32
	a16   [mc * kc / 2]uint32 // bf16 pairs
	b16   [kc / 2 * nc]uint32
	col16 [kc / 2]uint32

	floats floatOperands // the operands of the block being computed
	pairs  pairOperands
}

// scratches keeps packing space for reuse.
var scratches FreeList[scratch]

// block computes rows [i0,i1) and columns [j0,j1) of C: the blocking loop
// (loop) over the operands of the gemm's precision.
func (g *gemm) block(i0, i1, j0, j1 int) {
	if i0 >= i1 || j0 >= j1 {
		return
	}
	if g.k == 0 || g.alpha == 0 {
		g.scaleC(i0, i1, j0, j1)
		return
	}
	if g.beta != 0 && g.beta != 1 {
		g.scaleC(i0, i1, j0, j1)
	}
	s := scratches.Get()
	defer scratches.Put(s)
	// The operands live in the pooled scratch: on the stack they would
	// escape through the generic loop and allocate on every call.
	if g.bf16 {
		s.pairs = pairOperands{g: g}
		loop(g, &s.pairs, s, i0, i1, j0, j1)
		s.pairs = pairOperands{}
		return
	}
	// A strip of few rows reuses each value of B too little to repay
	// packing it: whole panels of a row-major B are then read in place.
	s.floats = floatOperands{g: g, packAll: g.alpha != 1, inPlaceB: !g.transB && i1-i0 <= maxInPlaceBRows}
	loop(g, &s.floats, s, i0, i1, j0, j1)
	s.floats = floatOperands{}
}

// edge copies the valid rows×cols part of an edge tile, computed into
// s.tile, to C at offset ci (adding when add).
func (g *gemm) edge(s *scratch, ci, rows, cols int, add bool) {
	for r := 0; r < rows; r++ {
		dst := g.c[ci+r*g.ldc : ci+r*g.ldc+cols]
		src := s.tile[r*nr : r*nr+cols]
		if add {
			for j, v := range src {
				dst[j] += v
			}
		} else {
			copy(dst, src)
		}
	}
}

// scaleC multiplies the block of C by beta (zeroing it when beta is 0).
func (g *gemm) scaleC(i0, i1, j0, j1 int) {
	for i := i0; i < i1; i++ {
		row := g.c[i*g.ldc+j0 : i*g.ldc+j1]
		if g.beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= g.beta
		}
	}
}

// packA copies alpha*op(A)[i0:i0+mb, p0:p0+kb] into micro-panels of mr rows:
// panel r holds, for each k, the mr values of rows r*mr.. (zero past mb).
// Each stored row is read contiguously, whichever way A is transposed.
func (g *gemm) packA(dst []float32, i0, mb, p0, kb int) {
	for ir := 0; ir < mb; ir += mr {
		panel := dst[ir*kb : (ir+mr)*kb]
		rows := min(mr, mb-ir)
		if rows < mr {
			clear(panel)
		}
		if g.transA {
			for p := 0; p < kb; p++ {
				src := g.a[(p0+p)*g.lda+i0+ir : (p0+p)*g.lda+i0+ir+rows]
				out := panel[p*mr : p*mr+rows]
				for r, v := range src {
					out[r] = g.alpha * v
				}
			}
			continue
		}
		for r := 0; r < rows; r++ {
			src := g.a[(i0+ir+r)*g.lda+p0 : (i0+ir+r)*g.lda+p0+kb]
			for p, v := range src {
				panel[p*mr+r] = g.alpha * v
			}
		}
	}
}

// packB copies op(B)[p0:p0+kb, j0:j0+nb] into micro-panels of nr columns:
// panel j holds, for each k, the nr values of columns j*nr.. (zero past nb).
func (g *gemm) packB(dst []float32, p0, kb, j0, nb int) {
	for jr := 0; jr < nb; jr += nr {
		panel := dst[jr*kb : (jr+nr)*kb]
		cols := min(nr, nb-jr)
		if g.transB {
			// Rows of the stored B are columns of op(B): read each contiguously.
			for c := 0; c < cols; c++ {
				src := g.b[(j0+jr+c)*g.ldb+p0 : (j0+jr+c)*g.ldb+p0+kb]
				for p, v := range src {
					panel[p*nr+c] = v
				}
			}
			for p := 0; p < kb; p++ {
				clear(panel[p*nr+cols : p*nr+nr])
			}
			continue
		}
		for p := 0; p < kb; p++ {
			out := panel[p*nr : p*nr+nr]
			row := (p0+p)*g.ldb + j0 + jr
			copy(out, g.b[row:row+cols])
			clear(out[cols:])
		}
	}
}

func checkGemm(transA, transB bool, m, n, k, la, lda, lb, ldb, lc, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kern: negative gemm size m=%d n=%d k=%d", m, n, k))
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	checkMatrix("A", ar, ac, lda, la)
	checkBC(transB, m, n, k, lb, ldb, lc, ldc)
}

// checkBC checks op(B) (k×n) and C (m×n).
func checkBC(transB bool, m, n, k, lb, ldb, lc, ldc int) {
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMatrix("B", br, bc, ldb, lb)
	checkMatrix("C", m, n, ldc, lc)
}

// checkMatrix panics unless l values with row stride ld hold rows×cols.
func checkMatrix(name string, rows, cols, ld, l int) {
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

// Tile computes one TileRows×TileCols tile with the GEMM's micro-kernel,
// for callers that address A and B themselves (a direct convolution):
//
//	C[r][j] (+)= sum over p < k of a[r*ar+p*ap] * b[p*bp+j]
//
// C rows are ldc apart; add accumulates onto C instead of overwriting it.
// Either ar or ap must be 1 for the assembly to run; A and B must hold every
// value the sums read, or Tile panics.
func (e *Engine) Tile(k int, a []float32, ar, ap int, b []float32, bp int, c []float32, ldc int, add bool) {
	e.be.tile(k, a, ar, ap, b, bp, c, ldc, add)
}
