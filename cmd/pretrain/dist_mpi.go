//go:build mpi

package main

import (
	"fmt"
	"os"

	"github.com/simclr-go/simclr/pkg/dist/mpi"
)

// distributed runs pretrain as this rank of an mpirun job. A rank that
// fails ends the whole job, so that none waits for it in a collective.
func distributed(c *cli) error {
	if err := mpi.Init(); err != nil {
		return fmt.Errorf("--dist mpi: %w (launch pretrain with mpirun)", err)
	}
	c.comm = mpi.World()
	if err := pretrain(c); err != nil {
		fmt.Fprintf(os.Stderr, "pretrain: rank %d of %d: %v\n", c.comm.Rank(), c.comm.Size(), err)
		mpi.Abort(1)
	}
	return mpi.Finalize()
}
