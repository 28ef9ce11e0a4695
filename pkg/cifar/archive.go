package cifar

import (
	"archive/tar"
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"

	"github.com/klauspost/compress/gzip"

	"github.com/simclr-go/simclr/pkg/arrowio"
)

var isMember = func() map[string]bool {
	m := map[string]bool{}
	for _, names := range Members {
		for _, n := range names {
			m[n] = true
		}
	}
	return m
}()

// maxMember bounds the memory a member's header can make ReadArchive
// allocate; the real files are 30,730,000 bytes.
const maxMember = 1 << 28

// ReadArchive reads a CIFAR-10 binary archive (tar.gz) from r as a stream,
// without extracting it, and hands each data file's images to emit: each
// split's members in original order (data_batch_1 to _5 for train, whatever
// their order in the archive), with indexes counting from 0 per split.
//
// Every member of Members must be present, a whole number of records, and
// match its MD5 in sums (file name to hex MD5; OfficialMD5 for the real
// dataset, where it proves the data whatever the archive's own checksum).
// A member's images are emitted only after its MD5 matched. name identifies
// the archive in errors.
func ReadArchive(r io.Reader, name string, sums map[string]string, emit func(Split, arrowio.ImageBatch) error) error {
	for _, s := range Splits {
		for _, m := range Members[s] {
			if sums[m] == "" {
				return fmt.Errorf("no MD5 given for %s", m)
			}
		}
	}
	gz, err := gzip.NewReader(r)
	if err != nil {
		return fmt.Errorf("%s: not a gzip file: %w", name, err)
	}
	// Decompress on a second core while this one checks and converts.
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := io.Copy(pw, gz)
		pw.CloseWithError(err)
	}()
	defer func() {
		pr.Close() // on an early return, stops the decompressor...
		<-done     // ...which is done with r once this returns
	}()
	a := archiveReader{
		name: name, sums: sums, emit: emit,
		got:  map[string][]byte{},
		next: map[Split]int{},
		rows: map[Split]int{},
	}
	tr := tar.NewReader(pr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %s archive: %w", name, damage(err), err)
		}
		if err := a.member(tr, hdr); err != nil {
			return err
		}
	}
	// Read to the end of the gzip stream so that its CRC is checked.
	if _, err := io.Copy(io.Discard, pr); err != nil {
		return fmt.Errorf("%s: %s archive: %w", name, damage(err), err)
	}
	for _, s := range Splits {
		if a.next[s] < len(Members[s]) {
			return fmt.Errorf("%s: missing member %s", name, Members[s][a.next[s]])
		}
	}
	return nil
}

// archiveReader holds the state of one pass over an archive.
type archiveReader struct {
	name string
	sums map[string]string
	emit func(Split, arrowio.ImageBatch) error
	got  map[string][]byte // verified members; nil once emitted
	next map[Split]int     // position in Members of each split's next member to emit
	rows map[Split]int     // rows emitted per split
}

func (a *archiveReader) member(r io.Reader, hdr *tar.Header) error {
	base := path.Base(hdr.Name)
	if hdr.Typeflag != tar.TypeReg || !isMember[base] {
		return nil // directories, batches.meta.txt, readme.html
	}
	if _, dup := a.got[base]; dup {
		return fmt.Errorf("%s: duplicate member %s", a.name, base)
	}
	if hdr.Size == 0 || hdr.Size%RecordSize != 0 || hdr.Size > maxMember {
		return fmt.Errorf("%s: %s: size %d is not a whole number of %d-byte records", a.name, base, hdr.Size, RecordSize)
	}
	// Grow with the data rather than allocate what the header claims: a
	// corrupt header must not cost 256 MB.
	var buf bytes.Buffer
	buf.Grow(int(min(hdr.Size, 1<<20)))
	if _, err := io.CopyN(&buf, r, hdr.Size); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("%s: %s: %s archive: %w", a.name, base, damage(err), err)
	}
	data := buf.Bytes()
	sum := md5.Sum(data)
	if got, want := hex.EncodeToString(sum[:]), a.sums[base]; got != want {
		return fmt.Errorf("%s: %s: MD5 %s, want %s: the file is corrupt or not the official data", a.name, base, got, want)
	}
	a.got[base] = data
	return a.emitReady()
}

// emitReady emits, per split, the members that are next in line.
func (a *archiveReader) emitReady() error {
	for _, s := range Splits {
		for a.next[s] < len(Members[s]) {
			m := Members[s][a.next[s]]
			data := a.got[m]
			if data == nil {
				break
			}
			b, err := Decode(data, a.rows[s])
			if err != nil {
				return fmt.Errorf("%s: %s: %w", a.name, m, err)
			}
			if err := a.emit(s, b); err != nil {
				return err
			}
			a.got[m] = nil // keep the name, for duplicate detection; drop the data
			a.next[s]++
			a.rows[s] += b.Len()
		}
	}
	return nil
}

// damage names what a read error says about the archive.
func damage(err error) string {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "truncated"
	}
	return "corrupt"
}
