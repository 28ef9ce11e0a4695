// Package arrowio defines the image table, the file format that every tool of
// the project reads and writes, and helpers to read and write it as Arrow IPC
// (file format on disk, stream format in pipes).
//
// An image table has these columns, in this order:
//
//	index  int32                          position of the image in its original split
//	label  uint8                          class, 0-9 (see ClassNames)
//	image  fixed_size_list<uint8>[3072]   pixels, CHW: 1024 R, 1024 G, 1024 B, each 32x32 row-major
//
// followed by any extra int32 columns a tool adds (e.g. "view"). The image
// field carries the canonical extension annotation arrow.fixed_shape_tensor
// with shape [3,32,32], so pyarrow reads it as a tensor column while readers
// that do not know the extension see the plain list. Schema metadata:
// class_names (JSON list), split, source, source_sha256, producer.
package arrowio

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/apache/arrow/go/v17/arrow"
)

// Image geometry.
const (
	Channels  = 3
	Height    = 32
	Width     = 32
	ImageSize = Channels * Height * Width // bytes per image
)

// ImageShape is the image tensor's shape, CHW.
var ImageShape = [3]int{Channels, Height, Width}

// ClassNames are the CIFAR-10 classes, indexed by label.
var ClassNames = [10]string{
	"airplane", "automobile", "bird", "cat", "deer",
	"dog", "frog", "horse", "ship", "truck",
}

// BatchRows is the number of rows per record batch the writers emit.
const BatchRows = 1024

// Column names.
const (
	ColIndex = "index"
	ColLabel = "label"
	ColImage = "image"
)

// Schema metadata keys.
const (
	MetaClassNames   = "class_names"
	MetaSplit        = "split"
	MetaSource       = "source"
	MetaSourceSHA256 = "source_sha256"
	MetaProducer     = "producer"
)

// Field metadata of the canonical extension type that marks the image column.
const (
	ExtensionNameKey     = "ARROW:extension:name"
	ExtensionMetadataKey = "ARROW:extension:metadata"
	TensorExtensionName  = "arrow.fixed_shape_tensor"
)

// tensorMetadata is the arrow.fixed_shape_tensor parameters of the image column.
type tensorMetadata struct {
	Shape       []int    `json:"shape"`
	DimNames    []string `json:"dim_names,omitempty"`
	Permutation []int    `json:"permutation,omitempty"`
}

var (
	imageType      = arrow.FixedSizeListOf(ImageSize, arrow.PrimitiveTypes.Uint8)
	imageTensorMD  = mustJSON(tensorMetadata{Shape: ImageShape[:], DimNames: []string{"C", "H", "W"}})
	classNamesJSON = mustJSON(ClassNames)
)

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// ImageSchema returns the image-table schema with the given schema metadata
// (class_names is filled in when meta lacks it) and, after the image column,
// one int32 column for each name in extra.
func ImageSchema(meta map[string]string, extra ...string) *arrow.Schema {
	md := map[string]string{MetaClassNames: classNamesJSON}
	for k, v := range meta {
		md[k] = v
	}
	fields := []arrow.Field{
		{Name: ColIndex, Type: arrow.PrimitiveTypes.Int32},
		{Name: ColLabel, Type: arrow.PrimitiveTypes.Uint8},
		{Name: ColImage, Type: imageType, Metadata: arrow.NewMetadata(
			[]string{ExtensionNameKey, ExtensionMetadataKey},
			[]string{TensorExtensionName, imageTensorMD},
		)},
	}
	for _, name := range extra {
		fields = append(fields, arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Int32})
	}
	mdv := arrow.MetadataFrom(md)
	return arrow.NewSchema(fields, &mdv)
}

// layout locates the columns of a validated image schema.
type layout struct {
	index, label, image int
	extra               []string // names of the extra int32 columns
	extraCol            []int
}

// checkSchema validates s as an image-table schema.
func checkSchema(s *arrow.Schema) (layout, error) {
	var l layout
	want := []struct {
		name string
		typ  arrow.DataType
		pos  *int
	}{
		{ColIndex, arrow.PrimitiveTypes.Int32, &l.index},
		{ColLabel, arrow.PrimitiveTypes.Uint8, &l.label},
		{ColImage, imageType, &l.image},
	}
	for _, w := range want {
		idx := s.FieldIndices(w.name)
		if len(idx) != 1 {
			return l, fmt.Errorf("want exactly one column %q, found %d", w.name, len(idx))
		}
		*w.pos = idx[0]
		if got := s.Field(idx[0]).Type; !sameType(got, w.typ) {
			return l, fmt.Errorf("column %q: want %s, got %s", w.name, w.typ, got)
		}
	}
	if err := checkTensorField(s.Field(l.image)); err != nil {
		return l, fmt.Errorf("column %q: %w", ColImage, err)
	}
	for i, f := range s.Fields() {
		if i == l.index || i == l.label || i == l.image {
			continue
		}
		if f.Type.ID() != arrow.INT32 {
			return l, fmt.Errorf("column %q: extra columns must be int32, got %s", f.Name, f.Type)
		}
		l.extra = append(l.extra, f.Name)
		l.extraCol = append(l.extraCol, i)
	}
	return l, nil
}

// sameType compares types ignoring the nullability of list elements, which
// writers set differently (pyarrow: nullable; others: not).
func sameType(got, want arrow.DataType) bool {
	g, ok1 := got.(*arrow.FixedSizeListType)
	w, ok2 := want.(*arrow.FixedSizeListType)
	if ok1 && ok2 {
		return g.Len() == w.Len() && arrow.TypeEqual(g.Elem(), w.Elem())
	}
	return arrow.TypeEqual(got, want)
}

func checkTensorField(f arrow.Field) error {
	name, _ := f.Metadata.GetValue(ExtensionNameKey)
	if name != TensorExtensionName {
		return fmt.Errorf("extension name %q, want %q", name, TensorExtensionName)
	}
	raw, _ := f.Metadata.GetValue(ExtensionMetadataKey)
	var md tensorMetadata
	if err := json.Unmarshal([]byte(raw), &md); err != nil {
		return fmt.Errorf("extension metadata %q: %w", raw, err)
	}
	if !slices.Equal(md.Shape, ImageShape[:]) {
		return fmt.Errorf("tensor shape %v, want %v", md.Shape, ImageShape)
	}
	if md.Permutation != nil && !slices.Equal(md.Permutation, []int{0, 1, 2}) {
		return fmt.Errorf("tensor permutation %v, want CHW layout", md.Permutation)
	}
	return nil
}
