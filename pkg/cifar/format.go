// Package cifar reads the CIFAR-10 binary distribution: it downloads the
// archive (with a cache, resume and retries), streams its tar.gz, verifies
// each data file against its MD5 and decodes the records into image batches.
package cifar

import (
	"fmt"

	"github.com/simclr-go/simclr/pkg/arrowio"
)

// The official archive and its MD5. The MD5 proves only a download of this
// exact file; any other copy (a mirror, a repack) is proven by the per-file
// MD5s in OfficialMD5, which ReadArchive always checks.
const (
	ArchiveURL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
	ArchiveMD5 = "c32a1d4ab5d03f1284b67883e8d87530"
)

// ExpectedArchiveMD5 returns the MD5 a download from url must have: the
// official one for the official URL, none ("") for a mirror, whose packing
// may differ while its data files are identical.
func ExpectedArchiveMD5(url string) string {
	switch url {
	case ArchiveURL:
		return ArchiveMD5
	case Archive100URL:
		return Archive100MD5
	}
	return ""
}

// Split names a part of the dataset.
type Split string

// The two splits, in the order they are usually processed.
const (
	Train Split = "train"
	Test  Split = "test"
)

// Splits lists every split.
var Splits = []Split{Train, Test}

// Members lists each split's data files, in original order; the archive
// holds them in cifar-10-batches-bin/.
var Members = map[Split][]string{
	Train: {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"},
	Test:  {"test_batch.bin"},
}

// OfficialMD5 maps each data file to its official MD5.
var OfficialMD5 = map[string]string{
	"data_batch_1.bin": "5dd7e06a14cb22eb9f671a540d1b7c25",
	"data_batch_2.bin": "5ea93a67294ea407fff1d09f752e9692",
	"data_batch_3.bin": "942cd6a4bcdd0dd3c604fbe906cb4421",
	"data_batch_4.bin": "ae636b3ba5c66a11e91e8cb52e771fcb",
	"data_batch_5.bin": "53f37980c15c3d472c316c40844f3f0d",
	"test_batch.bin":   "803d5f7f4d78ea53de84dbe85f74fb6d",
}

// RecordSize is the size of one record: a label byte, then the pixels in
// CHW order (1024 R, 1024 G, 1024 B, each plane 32x32 row-major), which is
// exactly the image table's layout.
const RecordSize = 1 + arrowio.ImageSize

// Decode turns whole records into a batch whose indexes start at first.
func Decode(records []byte, first int) (arrowio.ImageBatch, error) {
	if len(records)%RecordSize != 0 {
		return arrowio.ImageBatch{}, fmt.Errorf("%d bytes is not a whole number of %d-byte records", len(records), RecordSize)
	}
	n := len(records) / RecordSize
	b := arrowio.ImageBatch{
		Index:  make([]int32, n),
		Label:  make([]uint8, n),
		Pixels: make([]uint8, n*arrowio.ImageSize),
	}
	for i := range n {
		rec := records[i*RecordSize : (i+1)*RecordSize]
		if int(rec[0]) >= len(arrowio.ClassNames) {
			return arrowio.ImageBatch{}, fmt.Errorf("record %d: label %d out of range 0-9", i, rec[0])
		}
		b.Index[i] = int32(first + i)
		b.Label[i] = rec[0]
		copy(b.Image(i), rec[1:])
	}
	return b, nil
}
