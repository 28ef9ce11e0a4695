package kern

// kernelGeneric is the portable micro-kernel: the mr×nr tile
// C = A·B (or C += A·B when add) over kc steps, where A(r,p) is
// a[r*ar + p*ap] and row p of B is b[p*bp : p*bp+nr].
func kernelGeneric(kc int, a []float32, ar, ap int, b []float32, bp int, c []float32, ldc int, add bool) {
	var acc [mr * nr]float32
	for p := 0; p < kc; p++ {
		bRow := b[p*bp : p*bp+nr]
		for i := 0; i < mr; i++ {
			av := a[i*ar+p*ap]
			row := acc[i*nr : i*nr+nr]
			for j, bv := range bRow {
				row[j] += av * bv
			}
		}
	}
	storeTile(acc[:], c, ldc, add)
}
