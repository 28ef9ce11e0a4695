package train

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/simclr-go/simclr/pkg/arrowio"
	"github.com/simclr-go/simclr/pkg/arrowio/arrowiotest"
	"github.com/simclr-go/simclr/pkg/cifar"
	"github.com/simclr-go/simclr/pkg/kern"
)

// realImages reads the first n training images of the real CIFAR-10 archive
// beside the repository, skipping the test when it is absent.
func realImages(t *testing.T, n int) Dataset {
	t.Helper()
	path := filepath.Join(arrowiotest.ModuleRoot(t), "..", "shared", "cifar10", "cifar-10-binary.tar.gz")
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("real CIFAR-10 not available: %v", err)
	}
	defer f.Close()
	var d Dataset
	enough := errors.New("enough images")
	err = cifar.ReadArchive(f, path, cifar.OfficialMD5, func(s cifar.Split, b arrowio.ImageBatch) error {
		if s != cifar.Train {
			return nil
		}
		k := min(b.Len(), n-d.Len())
		d.Index = append(d.Index, b.Index[:k]...)
		d.Label = append(d.Label, b.Label[:k]...)
		d.Pixels = append(d.Pixels, b.Pixels[:k*arrowio.ImageSize]...)
		if d.Len() == n {
			return enough
		}
		return nil
	})
	if !errors.Is(err, enough) {
		t.Fatalf("reading %s: %v", path, err)
	}
	return d
}

// SimCLR's loss falls on a small subset of the real images: three epochs of
// 256 images, batch 32, the reference recipe otherwise.
func TestLossFallsOnRealData(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few seconds")
	}
	cfg := DefaultConfig()
	cfg.Epochs, cfg.Batch, cfg.WarmupEpochs, cfg.LR = 3, 32, 0, 1e-3
	tr, err := New(kern.Default(), cfg, realImages(t, 256))
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	run(t, tr, 3*tr.StepsPerEpoch())
	first, last := tr.History[0], tr.History[len(tr.History)-1]
	t.Logf("mean loss per epoch: %.4f", tr.History)
	if last > first-0.05 {
		t.Fatalf("loss went from %.4f to %.4f", first, last)
	}
}
