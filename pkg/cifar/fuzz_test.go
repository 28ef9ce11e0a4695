package cifar_test

import (
	"bytes"
	"testing"

	"github.com/simclr-go/simclr/pkg/arrowio"
	"github.com/simclr-go/simclr/pkg/cifar"
	"github.com/simclr-go/simclr/pkg/cifar/cifartest"
)

// FuzzReadArchive reads arbitrary bytes as a CIFAR-10 archive (gzip, tar,
// members) against the MD5s of a small real-format one: an error or
// batches of whole records with labels 0-9, never a panic or a hang. The
// seeds are that archive, cut, and one with a member out of order.
func FuzzReadArchive(f *testing.F) {
	ms := cifartest.Members(1)
	sums := cifartest.Sums(ms)
	whole := cifartest.Archive(ms...)
	f.Add(whole)
	f.Add(whole[:len(whole)/2])
	f.Add(cifartest.Archive(append(ms[1:], ms[0])...))
	f.Fuzz(func(t *testing.T, data []byte) {
		cifar.ReadArchive(bytes.NewReader(data), "fuzz.tar.gz", sums, func(s cifar.Split, b arrowio.ImageBatch) error {
			if len(b.Index) != b.Len() || len(b.Pixels) != b.Len()*arrowio.ImageSize {
				t.Fatalf("%s: batch of %d labels, %d indices, %d pixel bytes", s, b.Len(), len(b.Index), len(b.Pixels))
			}
			for i, y := range b.Label {
				if y > 9 {
					t.Fatalf("%s: row %d: label %d passed", s, i, y)
				}
			}
			return nil
		})
	})
}
