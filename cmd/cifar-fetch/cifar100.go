package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/simclr-go/simclr/pkg/arrowio"
	"github.com/simclr-go/simclr/pkg/cifar"
	"github.com/simclr-go/simclr/pkg/version"
)

// archive100MD5 is the MD5 a CIFAR-100 archive must have: the official
// one (tests put their synthetic archive's here).
var archive100MD5 = cifar.Archive100MD5

// fetch100 converts the CIFAR-100 archive f (at path archive, recorded as
// source, with SHA-256 sum) into the tables outs. The dataset page gives no
// digests of the files inside, so the archive itself must be the official
// one, whether downloaded or local.
func (c *cli) fetch100(ctx context.Context, f *os.File, archive, source, sum string, outs []output) error {
	md5sum, err := cifar.FileMD5(ctxReader{ctx, f})
	if err != nil {
		return fmt.Errorf("%s: %w", archive, err)
	}
	if md5sum != archive100MD5 {
		return fmt.Errorf("%s: MD5 %s, want %s: not the official cifar-100-binary.tar.gz (its MD5 is the only digest published)", archive, md5sum, archive100MD5)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	a, err := cifar.ReadArchive100(ctxReader{ctx, f}, archive)
	if ctx.Err() != nil {
		return errors.New("interrupted; no output written")
	}
	if err != nil {
		return err
	}
	fine, _ := json.Marshal(a.Fine)
	coarse, _ := json.Marshal(a.Coarse)
	schema := arrowio.NewImageSchema
	for _, o := range outs {
		meta := map[string]string{
			arrowio.MetaClassNames:     string(fine),
			cifar.MetaCoarseClassNames: string(coarse),
			arrowio.MetaSplit:          string(o.split),
			arrowio.MetaSource:         source,
			arrowio.MetaSourceSHA256:   sum,
			arrowio.MetaProducer:       version.Producer(tool),
		}
		var stats arrowio.ChannelStats
		if err := a.Decode100(o.split, func(b arrowio.ImageBatch) error { stats.Add(b.Pixels); return nil }); err != nil {
			return fmt.Errorf("%s: %w", archive, err)
		}
		stats.SetMeta(meta)
		w, err := arrowio.CreateImages(o.path, schema(arrowio.SchemaOptions{Meta: meta, Extra: []string{cifar.ColCoarseLabel}, Tensor: c.Tensor}))
		if err != nil {
			return err
		}
		defer w.Abort()
		rows := 0
		if err := a.Decode100(o.split, func(b arrowio.ImageBatch) error {
			rows += b.Len()
			return w.Write(b)
		}); err != nil {
			return fmt.Errorf("%s: %w", archive, err)
		}
		if err := w.Close(); err != nil {
			return err
		}
		c.note("wrote %s: %d images", o.path, rows)
	}
	return nil
}
