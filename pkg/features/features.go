// Package features defines the feature table, the file that carries the
// embeddings a trained encoder gives each image (written by extract, read by
// linprobe), and reads and writes it as Arrow IPC: file format on disk,
// stream format in pipes.
//
// A feature table has these columns:
//
//	index    int32                        position of the image in its original split
//	label    uint8                        class, 0 to len(class_names)-1
//	feature  fixed_size_list<float32>[D]  the embedding, D > 0 (512 for ResNet-18)
//
// A fixed-size list of float32 is how pyarrow, Lance and LanceDB store
// embedding vectors, so those tools read the column as vectors directly.
// Readers find the columns by name and ignore any others.
//
// Schema metadata: class_names (JSON list; the CIFAR-10 names when absent),
// checkpoint and checkpoint_sha256 (the encoder's weights file and its
// digest), stem, epoch, split, producer; in the table of one shard of the
// rows (extract --shard), shard, shard_rows and shard_table_rows (see
// Shard); and whatever else the writer is given.
package features

import (
	"encoding/json"
	"fmt"

	"github.com/apache/arrow/go/v17/arrow"

	"github.com/simclr-go/simclr/pkg/arrowio"
)

// Column names.
const (
	ColIndex   = arrowio.ColIndex
	ColLabel   = arrowio.ColLabel
	ColFeature = "feature"
)

// Schema metadata keys.
const (
	MetaClassNames       = arrowio.MetaClassNames
	MetaSplit            = arrowio.MetaSplit
	MetaProducer         = arrowio.MetaProducer
	MetaCheckpoint       = "checkpoint"        // file name of the encoder weights
	MetaCheckpointSHA256 = "checkpoint_sha256" // hex SHA-256 of that file
	MetaStem             = "stem"              // encoder stem variant
	MetaEpoch            = "epoch"             // pre-training epoch of the checkpoint
	MetaPrecision        = "precision"         // what the convolutions multiplied in: fp32 or bf16
)

// Schema returns the feature-table schema for embeddings of width dim, with
// the given schema metadata; class_names is filled in when meta lacks it.
func Schema(dim int, meta map[string]string) (*arrow.Schema, error) {
	if dim <= 0 {
		return nil, fmt.Errorf("feature width %d, want at least 1", dim)
	}
	md := make(map[string]string, len(meta)+1)
	for k, v := range meta {
		md[k] = v
	}
	if _, ok := md[MetaClassNames]; !ok {
		b, _ := json.Marshal(arrowio.ClassNames)
		md[MetaClassNames] = string(b)
	}
	if _, err := classNames(md); err != nil {
		return nil, err
	}
	mdv := arrow.MetadataFrom(md)
	return arrow.NewSchema([]arrow.Field{
		{Name: ColIndex, Type: arrow.PrimitiveTypes.Int32},
		{Name: ColLabel, Type: arrow.PrimitiveTypes.Uint8},
		{Name: ColFeature, Type: arrow.FixedSizeListOf(int32(dim), arrow.PrimitiveTypes.Float32)},
	}, &mdv), nil
}

// layout locates the columns of a validated schema.
type layout struct {
	index, label, feature int
	dim                   int
	classes               []string
}

// checkSchema validates s as a feature-table schema.
func checkSchema(s *arrow.Schema) (layout, error) {
	var l layout
	for _, c := range []struct {
		name string
		pos  *int
		ok   func(arrow.DataType) bool
		want string
	}{
		{ColIndex, &l.index, isType(arrow.INT32), "int32"},
		{ColLabel, &l.label, isType(arrow.UINT8), "uint8"},
		{ColFeature, &l.feature, isFloatList, "fixed_size_list<float32>"},
	} {
		idx := s.FieldIndices(c.name)
		if len(idx) != 1 {
			return l, fmt.Errorf("want exactly one column %q, found %d", c.name, len(idx))
		}
		*c.pos = idx[0]
		if t := s.Field(idx[0]).Type; !c.ok(t) {
			return l, fmt.Errorf("column %q: want %s, got %s", c.name, c.want, t)
		}
	}
	l.dim = int(s.Field(l.feature).Type.(*arrow.FixedSizeListType).Len())
	if l.dim <= 0 {
		return l, fmt.Errorf("column %q: feature width %d, want at least 1", ColFeature, l.dim)
	}
	var err error
	l.classes, err = classNames(s.Metadata().ToMap())
	return l, err
}

func isType(id arrow.Type) func(arrow.DataType) bool {
	return func(t arrow.DataType) bool { return t.ID() == id }
}

// isFloatList accepts fixed-size lists of float32 whatever the nullability of
// their elements, which writers set differently (pyarrow: nullable).
func isFloatList(t arrow.DataType) bool {
	l, ok := t.(*arrow.FixedSizeListType)
	return ok && l.Elem().ID() == arrow.FLOAT32
}

// classNames returns the class names in md, or the CIFAR-10 ones when md has none.
func classNames(md map[string]string) ([]string, error) { return arrowio.ClassNamesOf(md) }

// Batch is a run of feature-table rows as plain slices.
type Batch struct {
	Index    []int32
	Label    []uint8
	Features []float32 // len(Label)*dim values, row after row
}

// Len returns the number of rows.
func (b Batch) Len() int { return len(b.Label) }

// check verifies b's values against the layout: consistent lengths, labels
// within the class list, finite features. Rows are numbered from first.
func (l layout) check(b Batch, first int) error {
	n := b.Len()
	if len(b.Index) != n || len(b.Features) != n*l.dim {
		return fmt.Errorf("inconsistent batch: %d labels, %d indexes, %d feature values for width %d", n, len(b.Index), len(b.Features), l.dim)
	}
	for i, y := range b.Label {
		if int(y) >= len(l.classes) {
			return fmt.Errorf("row %d: label %d out of range 0-%d", first+i, y, len(l.classes)-1)
		}
	}
	for i, v := range b.Features {
		// A diverged encoder gives NaN; catch it here, not as a poisoned
		// probe. v-v is 0 for finite v, NaN for NaN and ±Inf.
		if v-v != 0 {
			return fmt.Errorf("row %d: feature %d is %v", first+i/l.dim, i%l.dim, v)
		}
	}
	return nil
}
