package kern

// operands is one precision's side of the GEMM's blocking loop: how it
// packs and addresses A and B, and the micro-kernel that multiplies them.
// loop is the one loop over both precisions.
type operands[T float32 | uint32] interface {
	// steps is the micro-kernel's steps over kb values of k.
	steps(kb int) int
	// packB readies B's panels of rows [pc, pc+kb) and columns [jc, jc+nb),
	// and panelB returns the one at column jc+jr, cols wide.
	packB(s *scratch, pc, kb, jc, nb int)
	panelB(s *scratch, pc, kb, jc, jr, cols int) (b []T, bp int)
	// packA readies A's rows [ic, ic+mb) over columns [pc, pc+kb), and
	// tileA returns the rows×kb tile at row ic+ir.
	packA(s *scratch, ic, mb, pc, kb int)
	tileA(s *scratch, ic, ir, rows, pc, kb int) (a []T, ar, ap int)
	tile(steps int, a []T, ar, ap int, b []T, bp int, c []float32, ldc int, add bool)
}

// loop computes rows [i0,i1) and columns [j0,j1) of C as in Goto's GEMM:
// for each nc-wide block of columns and kc-deep block of k, B's panels are
// made ready once, then A's mc-tall blocks, and the micro-kernel covers
// the block in mr×nr tiles; edge tiles are computed into s.tile and the
// valid part copied.
func loop[T float32 | uint32, O operands[T]](g *gemm, o O, s *scratch, i0, i1, j0, j1 int) {
	for jc := j0; jc < j1; jc += nc {
		nb := min(nc, j1-jc)
		for pc := 0; pc < g.k; pc += kc {
			kb := min(kc, g.k-pc)
			steps := o.steps(kb)
			add := pc > 0 || g.beta != 0
			o.packB(s, pc, kb, jc, nb)
			for ic := i0; ic < i1; ic += mc {
				mb := min(mc, i1-ic)
				o.packA(s, ic, mb, pc, kb)
				for jr := 0; jr < nb; jr += nr {
					cols := min(nr, nb-jr)
					b, bp := o.panelB(s, pc, kb, jc, jr, cols)
					for ir := 0; ir < mb; ir += mr {
						rows := min(mr, mb-ir)
						a, ar, ap := o.tileA(s, ic, ir, rows, pc, kb)
						ci := (ic+ir)*g.ldc + jc + jr
						if rows == mr && cols == nr {
							o.tile(steps, a, ar, ap, b, bp, g.c[ci:], g.ldc, add)
							continue
						}
						o.tile(steps, a, ar, ap, b, bp, s.tile[:], nr, false)
						g.edge(s, ci, rows, cols, add)
					}
				}
			}
		}
	}
}

// floatOperands are float32's. B is packed, but for a strip of few rows
// (inPlaceB), whose whole panels of a row-major B are read in place. A is
// read in place for whole tiles, unless alpha must be applied (packAll):
// the skinny ResNet GEMMs reuse each value of A too few times to repay
// packing it.
type floatOperands struct {
	g                 *gemm
	packAll, inPlaceB bool
}

func (o *floatOperands) steps(kb int) int { return kb }

func (o *floatOperands) packB(s *scratch, pc, kb, jc, nb int) {
	switch whole := nb / nr * nr; {
	case !o.inPlaceB:
		o.g.packB(s.b[:], pc, kb, jc, nb)
	case whole < nb:
		o.g.packB(s.b[:], pc, kb, jc+whole, nb-whole) // the edge panel
	}
}

func (o *floatOperands) panelB(s *scratch, pc, kb, jc, jr, cols int) ([]float32, int) {
	switch {
	case !o.inPlaceB:
		return s.b[jr*kb:], nr
	case cols == nr:
		return o.g.b[pc*o.g.ldb+jc+jr:], o.g.ldb
	}
	return s.b[:], nr
}

func (o *floatOperands) packA(s *scratch, ic, mb, pc, kb int) {
	switch edge := mb / mr * mr; {
	case o.packAll:
		o.g.packA(s.a[:], ic, mb, pc, kb)
	case edge < mb:
		o.g.packA(s.a[:], ic+edge, mb-edge, pc, kb) // the edge panel
	}
}

func (o *floatOperands) tileA(s *scratch, ic, ir, rows, pc, kb int) ([]float32, int, int) {
	g := o.g
	switch {
	case o.packAll:
		return s.a[ir*kb:], 1, mr
	case rows < mr:
		return s.a[:], 1, mr
	case g.transA:
		return g.a[pc*g.lda+ic+ir:], 1, g.lda
	}
	return g.a[(ic+ir)*g.lda+pc:], g.lda, 1
}

func (o *floatOperands) tile(k int, a []float32, ar, ap int, b []float32, bp int, c []float32, ldc int, add bool) {
	o.g.be.tile(k, a, ar, ap, b, bp, c, ldc, add)
}

// pairOperands are bf16 mode's: both operands are converted to pairs of
// bf16 (so always packed), A as row-major rows (the row kernel reads them
// in place) or, transposed, as column panels; B as nr-column panels. Pairs
// given by the caller (SgemmPairs) are read in place, but for a last,
// partial panel, copied out zero-padded.
type pairOperands struct {
	g      *gemm
	ar, ap int // the strides of A's pairs as packA laid them out
}

func (o *pairOperands) steps(kb int) int { return (kb + 1) / 2 }

func (o *pairOperands) packB(s *scratch, pc, kb, jc, nb int) { o.g.packB16(s, pc, kb, jc, nb) }

func (o *pairOperands) panelB(s *scratch, pc, kb, jc, jr, cols int) ([]uint32, int) {
	return s.b16[jr*o.steps(kb):], nr
}

func (o *pairOperands) packA(s *scratch, ic, mb, pc, kb int) {
	g, kp := o.g, o.steps(kb)
	if g.pairs == nil {
		o.ar, o.ap = g.packA16(s.a16[:], ic, mb, pc, kb)
		return
	}
	o.ar, o.ap = kp, 1
	full := mb / mr * mr
	if full == mb {
		return
	}
	for r := 0; r < mr; r++ {
		dst := s.a16[r*kp : (r+1)*kp]
		if full+r >= mb {
			clear(dst)
			continue
		}
		copy(dst, g.pairs[(ic+full+r)*g.ldp+pc/2:])
	}
}

func (o *pairOperands) tileA(s *scratch, ic, ir, rows, pc, kb int) ([]uint32, int, int) {
	g := o.g
	switch {
	case g.pairs == nil:
		return s.a16[ir*o.steps(kb):], o.ar, o.ap
	case rows == mr:
		return g.pairs[(ic+ir)*g.ldp+pc/2:], g.ldp, 1
	}
	return s.a16[:], o.ar, o.ap
}

func (o *pairOperands) tile(kp int, a []uint32, ar, ap int, b []uint32, bp int, c []float32, ldc int, add bool) {
	o.g.be.tile16(kp, a, ar, ap, b, bp, c, ldc, add)
}
