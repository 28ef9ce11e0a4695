package main

import (
	"fmt"
	"os"

	"github.com/simclr-go/simclr/pkg/atomicfile"
	"github.com/simclr-go/simclr/pkg/dirlock"
)

// claim makes dir this process's alone (a second pretrain into it refuses,
// naming this one's PID) and then removes what a killed run left there:
// the temporary files of its checkpoints and of its loss curve.
func claim(dir string) (*dirlock.Lock, error) {
	lock, err := dirlock.Acquire(dir, "pretrain")
	if err != nil {
		return nil, err
	}
	for _, base := range []string{"*_epoch*.safetensors", "loss.png"} {
		removed, err := atomicfile.RemoveStale(dir, base)
		if err != nil {
			lock.Unlock()
			return nil, err
		}
		for _, p := range removed {
			fmt.Fprintf(os.Stderr, "pretrain: removed %s, left by a run that was killed\n", p)
		}
	}
	return lock, nil
}
