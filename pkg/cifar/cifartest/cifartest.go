// Package cifartest builds small CIFAR-10 archives in the real binary format,
// so tests run the real code paths without the 170 MB dataset.
package cifartest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/simclr-go/simclr/pkg/arrowio"
	"github.com/simclr-go/simclr/pkg/cifar"
)

// Label and Pixel give the synthetic content of the image at a split index,
// so a test can check that every byte landed in the right row.
func Label(index int) uint8 { return uint8(index*7) % 10 }

// Pixel returns byte j (CHW) of the image at index.
func Pixel(index, j int) uint8 { return uint8(index*31 + j*13 + j/1024) }

// Records returns n records for split indexes first, first+1, ...
func Records(first, n int) []byte {
	out := make([]byte, 0, n*cifar.RecordSize)
	for i := first; i < first+n; i++ {
		out = append(out, Label(i))
		for j := range arrowio.ImageSize {
			out = append(out, Pixel(i, j))
		}
	}
	return out
}

// Member is one file of an archive.
type Member struct {
	Name string
	Data []byte
}

// Members returns the six data files with perMember records each, in
// original order, as the real archive has them.
func Members(perMember int) []Member {
	var ms []Member
	for _, s := range cifar.Splits {
		for i, name := range cifar.Members[s] {
			ms = append(ms, Member{name, Records(i*perMember, perMember)})
		}
	}
	return ms
}

// Sums returns the MD5 table of ms, to pass to cifar.ReadArchive.
func Sums(ms []Member) map[string]string {
	sums := map[string]string{}
	for _, m := range ms {
		s := md5.Sum(m.Data)
		sums[m.Name] = hex.EncodeToString(s[:])
	}
	return sums
}

// Archive packs ms, in the given order, as cifar-10-batches-bin/NAME in a
// tar.gz, together with a batches.meta.txt that readers must skip.
func Archive(ms ...Member) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	mtime := time.Date(2009, 6, 5, 0, 0, 0, 0, time.UTC)
	add := func(hdr *tar.Header, data []byte) {
		hdr.ModTime = mtime
		if err := tw.WriteHeader(hdr); err != nil {
			panic(err)
		}
		if _, err := tw.Write(data); err != nil {
			panic(err)
		}
	}
	add(&tar.Header{Name: "cifar-10-batches-bin/", Typeflag: tar.TypeDir, Mode: 0o755}, nil)
	meta := []byte("airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n")
	add(&tar.Header{Name: "cifar-10-batches-bin/batches.meta.txt", Mode: 0o644, Size: int64(len(meta))}, meta)
	for _, m := range ms {
		add(&tar.Header{Name: "cifar-10-batches-bin/" + m.Name, Mode: 0o644, Size: int64(len(m.Data))}, m.Data)
	}
	if err := tw.Close(); err != nil {
		panic(err)
	}
	if err := gz.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// WriteTable writes b as an image table (an IPC file of split "test") in a
// temporary directory of t and returns its path.
func WriteTable(t testing.TB, b arrowio.ImageBatch) string {
	t.Helper()
	return WriteTableMeta(t, b, map[string]string{arrowio.MetaSplit: "test"})
}

// WriteTableMeta is WriteTable with the given schema metadata.
func WriteTableMeta(t testing.TB, b arrowio.ImageBatch, meta map[string]string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "images.arrow")
	w, err := arrowio.CreateImages(path, arrowio.ImageSchema(meta))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// ReadTable reads the whole image table at path, failing t on any error,
// and returns its rows and schema metadata.
func ReadTable(t testing.TB, path string) (arrowio.ImageBatch, map[string]string) {
	t.Helper()
	r, err := arrowio.OpenImages(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var all arrowio.ImageBatch
	for r.Next() {
		b := r.Batch()
		all.Index = append(all.Index, b.Index...)
		all.Label = append(all.Label, b.Label...)
		all.Pixels = append(all.Pixels, b.Pixels...)
		all.Path = append(all.Path, b.Path...)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return all, r.Metadata()
}

// Label100 returns the synthetic fine and coarse labels of the CIFAR-100
// image at index.
func Label100(index int) (fine, coarse uint8) {
	fine = uint8(index*7) % 100
	return fine, fine / 5
}

// FineNames and CoarseNames are the synthetic archive's label names.
func FineNames() []string   { return names("fine", 100) }
func CoarseNames() []string { return names("coarse", 20) }

func names(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s_%02d", prefix, i)
	}
	return out
}

// Records100 returns n CIFAR-100 records for split indexes first, first+1, ...
func Records100(first, n int) []byte {
	out := make([]byte, 0, n*cifar.Record100Size)
	for i := first; i < first+n; i++ {
		fine, coarse := Label100(i)
		out = append(out, coarse, fine)
		for j := range arrowio.ImageSize {
			out = append(out, Pixel(i, j))
		}
	}
	return out
}

// Archive100 packs a CIFAR-100 binary archive in the real layout
// (cifar-100-binary/ with the two label-name files, train.bin and test.bin)
// with train and test records.
func Archive100(train, test int) []byte {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	mtime := time.Date(2009, 6, 5, 0, 0, 0, 0, time.UTC)
	add := func(name string, data []byte) {
		hdr := &tar.Header{Name: "cifar-100-binary/" + name, Mode: 0o644, Size: int64(len(data)), ModTime: mtime}
		if name == "" {
			hdr.Typeflag, hdr.Mode = tar.TypeDir, 0o755
		}
		if err := tw.WriteHeader(hdr); err != nil {
			panic(err)
		}
		if _, err := tw.Write(data); err != nil {
			panic(err)
		}
	}
	add("", nil)
	add("coarse_label_names.txt", []byte(strings.Join(CoarseNames(), "\n")+"\n"))
	add("fine_label_names.txt", []byte(strings.Join(FineNames(), "\n")+"\n\n"))
	add("test.bin", Records100(0, test))
	add("train.bin", Records100(0, train))
	if err := tw.Close(); err != nil {
		panic(err)
	}
	if err := gz.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
}
