//go:build mpi

// Package mpi is dist.Comm over MPI's world communicator, through cgo: each
// method is one MPI call on the caller's slice, allocating nothing. It
// builds only with the mpi build tag and an MPI whose pkg-config name is
// ompi-c (Debian's libopenmpi-dev):
//
//	go build -tags mpi ./cmd/pretrain
//
// A failed MPI call panics with MPI's message: it means the job is broken
// (a rank died, the network failed), and the panic's non-zero exit makes
// mpirun end the other ranks rather than leave them waiting.
package mpi

/*
#cgo pkg-config: ompi-c
#include <mpi.h>

// Open MPI's handles are macros cgo cannot take: these return or use them.
static int init_serialized(int *provided) { return MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, provided); }
static int errors_return(void) { return MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN); }
static int world_rank(int *r) { return MPI_Comm_rank(MPI_COMM_WORLD, r); }
static int world_size(int *s) { return MPI_Comm_size(MPI_COMM_WORLD, s); }
static int abort_world(int code) { return MPI_Abort(MPI_COMM_WORLD, code); }
static int allreduce_sum_float(float *buf, int n) { return MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD); }
static int allreduce_sum_double(double *buf, int n) { return MPI_Allreduce(MPI_IN_PLACE, buf, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD); }
static int allgather_float(float *send, float *recv, int n) { return MPI_Allgather(send, n, MPI_FLOAT, recv, n, MPI_FLOAT, MPI_COMM_WORLD); }
static int allgather_byte(unsigned char *send, unsigned char *recv, int n) { return MPI_Allgather(send, n, MPI_BYTE, recv, n, MPI_BYTE, MPI_COMM_WORLD); }
static int bcast_float(float *buf, int n, int root) { return MPI_Bcast(buf, n, MPI_FLOAT, root, MPI_COMM_WORLD); }
*/
import "C"

import (
	"fmt"
	"math"

	"github.com/simclr-go/simclr/pkg/dist"
)

// Init starts MPI in this process, once, before any other call. It asks
// for MPI_THREAD_SERIALIZED, one call at a time from any thread, since Go
// may run a goroutine's successive calls on different OS threads; an MPI
// that cannot give that is refused. Errors are made to return, so that a
// failed call panics with its message rather than abort silently.
func Init() error {
	var provided C.int
	if rc := C.init_serialized(&provided); rc != C.MPI_SUCCESS {
		return fmt.Errorf("MPI_Init_thread: %s", message(rc))
	}
	if provided < C.MPI_THREAD_SERIALIZED {
		C.MPI_Finalize()
		return fmt.Errorf("MPI_Init_thread: this MPI gives thread level %d, and Go needs MPI_THREAD_SERIALIZED (%d)", provided, C.MPI_THREAD_SERIALIZED)
	}
	if rc := C.errors_return(); rc != C.MPI_SUCCESS {
		return fmt.Errorf("MPI_Comm_set_errhandler: %s", message(rc))
	}
	return nil
}

// Finalize ends MPI in this process, after every rank's last collective.
func Finalize() error {
	if rc := C.MPI_Finalize(); rc != C.MPI_SUCCESS {
		return fmt.Errorf("MPI_Finalize: %s", message(rc))
	}
	return nil
}

// Abort ends every rank of the job with the exit code: what a rank that
// fails does, so that none is left waiting in a collective for it.
func Abort(code int) { C.abort_world(C.int(code)) }

// World is the communicator of every rank of the job (MPI_COMM_WORLD),
// after Init.
func World() dist.Comm {
	var r, s C.int
	check("MPI_Comm_rank", C.world_rank(&r))
	check("MPI_Comm_size", C.world_size(&s))
	return world{rank: int(r), size: int(s)}
}

type world struct{ rank, size int }

func (w world) Rank() int { return w.rank }
func (w world) Size() int { return w.size }

func (w world) AllreduceSum32(buf []float32) {
	if len(buf) > 0 {
		check("MPI_Allreduce", C.allreduce_sum_float((*C.float)(&buf[0]), count(len(buf))))
	}
}

func (w world) AllreduceSum64(buf []float64) {
	if len(buf) > 0 {
		check("MPI_Allreduce", C.allreduce_sum_double((*C.double)(&buf[0]), count(len(buf))))
	}
}

func (w world) Allgather32(send, recv []float32) {
	w.gatherLen(len(send), len(recv))
	if len(send) > 0 {
		check("MPI_Allgather", C.allgather_float((*C.float)(&send[0]), (*C.float)(&recv[0]), count(len(send))))
	}
}

func (w world) AllgatherBytes(send, recv []byte) {
	w.gatherLen(len(send), len(recv))
	if len(send) > 0 {
		check("MPI_Allgather", C.allgather_byte((*C.uchar)(&send[0]), (*C.uchar)(&recv[0]), count(len(send))))
	}
}

func (w world) Bcast32(buf []float32, root int) {
	if len(buf) > 0 {
		check("MPI_Bcast", C.bcast_float((*C.float)(&buf[0]), count(len(buf)), C.int(root)))
	}
}

func (w world) gatherLen(send, recv int) {
	if recv != w.size*send {
		panic(fmt.Sprintf("mpi: allgather of %d values from each of %d ranks into %d", send, w.size, recv))
	}
}

// count is a slice length as MPI's int count.
func count(n int) C.int {
	if n > math.MaxInt32 {
		panic(fmt.Sprintf("mpi: %d values in one call, more than MPI's int count", n))
	}
	return C.int(n)
}

func check(call string, rc C.int) {
	if rc != C.MPI_SUCCESS {
		panic(fmt.Sprintf("mpi: %s: %s", call, message(rc)))
	}
}

// message is MPI's text for an error code.
func message(rc C.int) string {
	var buf [C.MPI_MAX_ERROR_STRING]C.char
	var n C.int
	if C.MPI_Error_string(rc, &buf[0], &n) != C.MPI_SUCCESS {
		return fmt.Sprintf("MPI error %d", rc)
	}
	return C.GoStringN(&buf[0], n)
}
