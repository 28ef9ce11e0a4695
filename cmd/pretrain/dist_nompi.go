//go:build !mpi

package main

import "errors"

// distributed refuses --dist in a build without MPI.
func distributed(*cli) error {
	return errors.New("--dist mpi: this pretrain is built without MPI; build it with go build -tags mpi ./cmd/pretrain (Debian packages libopenmpi-dev and openmpi-bin) and launch it with mpirun")
}
