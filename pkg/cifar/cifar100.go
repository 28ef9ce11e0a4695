package cifar

import (
	"archive/tar"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/klauspost/compress/gzip"

	"github.com/simclr-go/simclr/pkg/arrowio"
)

// The official CIFAR-100 binary archive and its MD5, from the dataset page
// (https://www.cs.toronto.edu/~kriz/cifar.html). The page gives no digests
// of the files inside, so the archive's own MD5 is what proves the data,
// whether downloaded or local.
const (
	Archive100URL = "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz"
	Archive100MD5 = "03b5dce01913d631647c71ecec9e9cb8"
)

// Record100Size is the size of one CIFAR-100 record: the coarse label byte,
// the fine label byte, then the pixels as in CIFAR-10.
const Record100Size = 2 + arrowio.ImageSize

// Members100 names each split's data file, and the label-name files, in
// cifar-100-binary/.
var Members100 = map[Split]string{Train: "train.bin", Test: "test.bin"}

const (
	fineNamesFile   = "fine_label_names.txt"
	coarseNamesFile = "coarse_label_names.txt"
)

// ColCoarseLabel is the image-table column of CIFAR-100's coarse labels
// (int32, the superclass); the fine label is the table's label.
const ColCoarseLabel = "coarse_label"

// MetaCoarseClassNames is the metadata key of the coarse labels' names.
const MetaCoarseClassNames = "coarse_class_names"

// Archive100 is a CIFAR-100 binary archive read into memory.
type Archive100 struct {
	Fine, Coarse []string         // label names, from fine_label_names.txt and coarse_label_names.txt
	Records      map[Split][]byte // each split's records
}

// maxMember100 bounds a member's size: train.bin is 153,700,000 bytes.
const maxMember100 = 1 << 28

// ReadArchive100 reads a CIFAR-100 binary archive (tar.gz) from r as a
// stream: its two data files, each a whole number of records, and its two
// label-name files, of 100 and 20 names. name identifies it in errors. The
// archive's MD5 is checked by the caller, who has the file.
func ReadArchive100(r io.Reader, name string) (*Archive100, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%s: not a gzip file: %w", name, err)
	}
	a := &Archive100{Records: map[Split][]byte{}}
	tr := tar.NewReader(gz)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s archive: %w", name, damage(err), err)
		}
		base := path.Base(hdr.Name)
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		var split Split
		for s, m := range Members100 {
			if base == m {
				split = s
			}
		}
		if split == "" && base != fineNamesFile && base != coarseNamesFile {
			continue
		}
		if hdr.Size > maxMember100 {
			return nil, fmt.Errorf("%s: %s: size %d, too large", name, base, hdr.Size)
		}
		data := make([]byte, hdr.Size)
		if _, err := io.ReadFull(tr, data); err != nil {
			return nil, fmt.Errorf("%s: %s: %s archive: %w", name, base, damage(err), err)
		}
		switch {
		case split != "":
			if _, dup := a.Records[split]; dup {
				return nil, fmt.Errorf("%s: duplicate member %s", name, base)
			}
			if len(data) == 0 || len(data)%Record100Size != 0 {
				return nil, fmt.Errorf("%s: %s: size %d is not a whole number of %d-byte records", name, base, len(data), Record100Size)
			}
			a.Records[split] = data
		case base == fineNamesFile:
			a.Fine = labelNames(data)
		default:
			a.Coarse = labelNames(data)
		}
	}
	// Read to the end of the gzip stream so that its CRC is checked.
	if _, err := io.Copy(io.Discard, gz); err != nil {
		return nil, fmt.Errorf("%s: %s archive: %w", name, damage(err), err)
	}
	for _, s := range Splits {
		if a.Records[s] == nil {
			return nil, fmt.Errorf("%s: missing member %s", name, Members100[s])
		}
	}
	for _, f := range []struct {
		file  string
		names []string
		want  int
	}{{fineNamesFile, a.Fine, 100}, {coarseNamesFile, a.Coarse, 20}} {
		if len(f.names) != f.want {
			return nil, fmt.Errorf("%s: %s: %d names, want %d", name, f.file, len(f.names), f.want)
		}
	}
	return a, nil
}

// labelNames splits a names file into its non-empty lines.
func labelNames(data []byte) []string {
	var names []string
	for _, line := range strings.Split(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			names = append(names, line)
		}
	}
	return names
}

// Decode100 turns the records of split s into batches of at most
// arrowio.BatchRows rows, handed to emit: label is the fine label, and the
// coarse label is the extra column ColCoarseLabel.
func (a *Archive100) Decode100(s Split, emit func(arrowio.ImageBatch) error) error {
	recs := a.Records[s]
	n := len(recs) / Record100Size
	for first := 0; first < n; first += arrowio.BatchRows {
		m := min(arrowio.BatchRows, n-first)
		b := arrowio.ImageBatch{
			Index:  make([]int32, m),
			Label:  make([]uint8, m),
			Pixels: make([]uint8, m*arrowio.ImageSize),
			Extra:  map[string][]int32{ColCoarseLabel: make([]int32, m)},
		}
		for i := range m {
			rec := recs[(first+i)*Record100Size : (first+i+1)*Record100Size]
			coarse, fine := rec[0], rec[1]
			if int(fine) >= len(a.Fine) || int(coarse) >= len(a.Coarse) {
				return fmt.Errorf("%s: record %d: fine label %d, coarse label %d: want below %d and %d", Members100[s], first+i, fine, coarse, len(a.Fine), len(a.Coarse))
			}
			b.Index[i] = int32(first + i)
			b.Label[i] = fine
			b.Extra[ColCoarseLabel][i] = int32(coarse)
			copy(b.Image(i), rec[2:])
		}
		if err := emit(b); err != nil {
			return err
		}
	}
	return nil
}

// FileMD5 returns the hex MD5 of everything r holds.
func FileMD5(r io.Reader) (string, error) {
	h := md5.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
