package cifar_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/simclr-go/simclr/pkg/arrowio"
	"github.com/simclr-go/simclr/pkg/cifar"
	"github.com/simclr-go/simclr/pkg/cifar/cifartest"
)

const perMember = 3

// collect reads an archive and gathers each split's rows.
func collect(archive []byte, sums map[string]string) (map[cifar.Split]arrowio.ImageBatch, error) {
	got := map[cifar.Split]arrowio.ImageBatch{}
	err := cifar.ReadArchive(bytes.NewReader(archive), "archive.tar.gz", sums, func(s cifar.Split, b arrowio.ImageBatch) error {
		all := got[s]
		all.Index = append(all.Index, b.Index...)
		all.Label = append(all.Label, b.Label...)
		all.Pixels = append(all.Pixels, b.Pixels...)
		got[s] = all
		return nil
	})
	return got, err
}

func TestReadArchiveKeepsOriginalOrder(t *testing.T) {
	ms := cifartest.Members(perMember)
	shuffled := []cifartest.Member{ms[3], ms[5], ms[0], ms[4], ms[2], ms[1]}
	reversed := slices.Clone(ms)
	slices.Reverse(reversed)
	for _, tt := range []struct {
		name  string
		order []cifartest.Member
	}{
		{"original", ms},
		{"reversed", reversed},
		{"shuffled", shuffled},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := collect(cifartest.Archive(tt.order...), cifartest.Sums(ms))
			if err != nil {
				t.Fatal(err)
			}
			for s, rows := range map[cifar.Split]int{cifar.Train: 5 * perMember, cifar.Test: perMember} {
				b := got[s]
				if b.Len() != rows {
					t.Fatalf("%s: %d rows, want %d", s, b.Len(), rows)
				}
				for i := range rows {
					if b.Index[i] != int32(i) || b.Label[i] != cifartest.Label(i) {
						t.Fatalf("%s row %d: index %d label %d, want %d %d", s, i, b.Index[i], b.Label[i], i, cifartest.Label(i))
					}
					for j, p := range b.Image(i) {
						if p != cifartest.Pixel(i, j) {
							t.Fatalf("%s row %d: pixel %d = %d, want %d", s, i, j, p, cifartest.Pixel(i, j))
						}
					}
				}
			}
		})
	}
}

func TestReadArchiveRejectsBadInput(t *testing.T) {
	ms := cifartest.Members(perMember)
	good := cifartest.Archive(ms...)
	sums := cifartest.Sums(ms)
	// with returns the members with member i's data changed by f.
	with := func(i int, f func([]byte) []byte) []cifartest.Member {
		out := slices.Clone(ms)
		out[i].Data = f(slices.Clone(ms[i].Data))
		return out
	}
	flipped := with(2, func(d []byte) []byte { d[100] ^= 1; return d })
	label12 := with(0, func(d []byte) []byte { d[cifar.RecordSize] = 12; return d })
	short := with(1, func(d []byte) []byte { return d[:len(d)-100] })
	empty := with(4, func([]byte) []byte { return nil })
	corrupt := slices.Clone(good)
	for i := len(corrupt) / 3; i < len(corrupt)/3+64; i++ {
		corrupt[i] ^= 0x5a
	}
	noSum := map[string]string{}
	for k, v := range sums {
		if k != "test_batch.bin" {
			noSum[k] = v
		}
	}
	for _, tt := range []struct {
		name    string
		archive []byte
		sums    map[string]string
		want    string
	}{
		{"wrong MD5", cifartest.Archive(flipped...), sums,
			"archive.tar.gz: data_batch_3.bin: MD5 "},
		{"missing member", cifartest.Archive(slices.Delete(slices.Clone(ms), 3, 4)...), sums,
			"archive.tar.gz: missing member data_batch_4.bin"},
		{"short member", cifartest.Archive(short...), cifartest.Sums(short),
			"archive.tar.gz: data_batch_2.bin: size 9119 is not a whole number of 3073-byte records"},
		{"empty member", cifartest.Archive(empty...), cifartest.Sums(empty),
			"archive.tar.gz: data_batch_5.bin: size 0 is not"},
		{"label above 9", cifartest.Archive(label12...), cifartest.Sums(label12),
			"archive.tar.gz: data_batch_1.bin: record 1: label 12 out of range 0-9"},
		{"duplicate member", cifartest.Archive(append(slices.Clone(ms), ms[0])...), sums,
			"archive.tar.gz: duplicate member data_batch_1.bin"},
		{"truncated in a member", good[:len(good)/2], sums,
			"archive.tar.gz: data_batch_1.bin: truncated archive: unexpected EOF"},
		{"truncated gzip trailer", good[:len(good)-4], sums,
			"archive.tar.gz: truncated archive: unexpected EOF"},
		{"corrupt gzip", corrupt, sums, "corrupt archive: flate: corrupt input"},
		{"not gzip", []byte("data_batch_1.bin"), sums, "archive.tar.gz: not a gzip file"},
		{"no MD5 for a member", good, noSum, "no MD5 given for test_batch.bin"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := collect(tt.archive, tt.sums)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestReadArchiveStopsOnEmitError(t *testing.T) {
	ms := cifartest.Members(perMember)
	stop := errors.New("disk full")
	calls := 0
	err := cifar.ReadArchive(bytes.NewReader(cifartest.Archive(ms...)), "a", cifartest.Sums(ms), func(cifar.Split, arrowio.ImageBatch) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("err = %v after %d calls, want %v after 1", err, calls, stop)
	}
}

func TestExpectedArchiveMD5(t *testing.T) {
	for url, want := range map[string]string{
		cifar.ArchiveURL: cifar.ArchiveMD5,
		"https://mirror.example/cifar-10-binary.tar.gz": "",
	} {
		if got := cifar.ExpectedArchiveMD5(url); got != want {
			t.Errorf("ExpectedArchiveMD5(%q) = %q, want %q", url, got, want)
		}
	}
}
