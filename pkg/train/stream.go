package train

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/simclr-go/simclr/pkg/arrowio"
	"github.com/simclr-go/simclr/pkg/augment"
	"github.com/simclr-go/simclr/pkg/kern"
)

// Stream is a view stream from the augment tool: record batches of Batch
// images' views, view-major, with a "view" column. Images is the size of
// the table it was made from, which sets the length of an epoch.
type Stream struct {
	R      *arrowio.ImageReader
	Name   string
	Images int
	Views  int
	Batch  int
}

// OpenStream checks that r, already open, is a view stream and reads its
// shape from the metadata augment writes.
func OpenStream(r *arrowio.ImageReader, name string) (*Stream, error) {
	meta := r.Metadata()
	s := &Stream{R: r, Name: name}
	for key, dst := range map[string]*int{"images": &s.Images, "views": &s.Views, "batch": &s.Batch} {
		v, err := strconv.Atoi(meta[key])
		if err != nil || v < 1 {
			return nil, fmt.Errorf("%s: a view stream needs metadata %q, a positive count (got %q): is it from augment?", name, key, meta[key])
		}
		*dst = v
	}
	if meta["layout"] != "view-major" {
		return nil, fmt.Errorf("%s: view layout %q, want view-major", name, meta["layout"])
	}
	return s, nil
}

// IsStream reports whether an image table is a view stream (has a view column).
func IsStream(r *arrowio.ImageReader) bool {
	for _, c := range r.Extra() {
		if c == "view" {
			return true
		}
	}
	return false
}

// NewFromStream builds a freshly initialised trainer that takes its views
// from s instead of augmenting in-process.
func NewFromStream(eng *kern.Engine, cfg Config, s *Stream) (*Trainer, error) {
	t, err := newWithData(eng, cfg, Dataset{}, s, nil)
	if err != nil {
		return nil, err
	}
	t.init()
	return t, nil
}

// ErrStreamEnded reports a view stream that ended before the run did.
var ErrStreamEnded = errors.New("view stream ended before the run")

// fromStream feeds the trainer from a view stream, skipping the batches of
// the skip steps already taken (a resume with the same augment command).
// Short batches, the ends of epochs, are dropped as in-process.
func (f *feeder) fromStream(s *Stream, views, batch, skip int, cfg Config) {
	rows := views * batch
	mean, std := cfg.Normalization()
	for s.R.Next() {
		b := s.R.Batch()
		if b.Len() < rows {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		bt := f.take()
		if bt == nil {
			return
		}
		bt.err = checkViews(b, views, batch)
		if bt.err == nil {
			augment.ToNHWC(bt.x, b.Pixels, mean, std)
			copy(bt.labels, b.Label[:batch])
		}
		if !f.send(bt) || bt.err != nil {
			return
		}
	}
	bt := f.take()
	if bt == nil {
		return
	}
	bt.err = s.R.Err()
	if bt.err == nil {
		bt.err = ErrStreamEnded
	}
	bt.err = fmt.Errorf("%s: %w", s.Name, bt.err)
	f.send(bt)
}

// checkViews makes sure a record batch holds views views of batch images,
// view-major, so that rows i and i+batch are siblings.
func checkViews(b arrowio.ImageBatch, views, batch int) error {
	if b.Len() != views*batch {
		return fmt.Errorf("record batch of %d rows, want %d views of %d images", b.Len(), views, batch)
	}
	view := b.Extra["view"]
	for i := range b.Len() {
		if int(view[i]) != i/batch || b.Index[i] != b.Index[i%batch] {
			return fmt.Errorf("row %d is view %d of image %d: want view-major pairs (view %d of image %d)", i, view[i], b.Index[i], i/batch, b.Index[i%batch])
		}
	}
	return nil
}
