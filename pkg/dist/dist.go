// Package dist names the collective operations that data-parallel training
// needs from its processes (ranks), whatever carries them: package
// dist/mpi is MPI's. One process trains with no Comm at all.
package dist

// Comm is a group of Size processes, this one being Rank (0 to Size-1).
// Every method is collective: each rank calls it, in the same order as
// the others, with buffers of the same length; it returns once this rank's
// part is done, and the results are the same on every rank.
type Comm interface {
	Rank() int
	Size() int
	// AllreduceSum32 and AllreduceSum64 replace buf with its element-wise
	// sum over the ranks.
	AllreduceSum32(buf []float32)
	AllreduceSum64(buf []float64)
	// Allgather32 and AllgatherBytes fill recv (Size times the length of
	// send) with every rank's send in rank order.
	Allgather32(send, recv []float32)
	AllgatherBytes(send, recv []byte)
	// Bcast32 replaces buf with root's.
	Bcast32(buf []float32, root int)
}
