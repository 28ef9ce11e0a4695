// Package arrowio defines the image table, the file format that every tool of
// the project reads and writes, and helpers to read and write it as Arrow IPC
// (file format on disk, stream format in pipes).
//
// An image table has these columns, in this order:
//
//	index  int32                          position of the image in its original split
//	label  uint8                          class, 0 to len(class_names)-1
//	image  fixed_size_list<uint8>[3072]   pixels, CHW: 1024 R, 1024 G, 1024 B, each 32x32 row-major
//
// then, in tables made from image files (cmd/image-folder), a utf8 column
// path naming each image's file, and last any extra int32 columns a tool
// adds (e.g. "view"). The image
// column is a plain fixed-size list, which every Arrow reader takes (Polars
// among them: it cannot build a column from an extension type,
// pola-rs/polars#9112); its shape and dimension order are in its field
// metadata (shape = [3,32,32], dim_names = ["C","H","W"]) and in the schema
// metadata (image_shape, image_dim_names). TensorImageSchema marks the column
// as the canonical extension arrow.fixed_shape_tensor instead, which pyarrow
// reads as a tensor column; readers take both, and tables of either kind
// written before. Schema metadata: class_names (JSON list; the CIFAR-10
// names when absent), split, source, source_sha256, producer; labelled =
// false in a table of unlabelled images (every label 0).
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
	ColPath  = "path"
)

// Schema metadata keys.
const (
	MetaClassNames    = "class_names"
	MetaSplit         = "split"
	MetaSource        = "source"
	MetaSourceSHA256  = "source_sha256"
	MetaProducer      = "producer"
	MetaImageShape    = "image_shape"     // JSON [3,32,32], the image column's shape
	MetaImageDimNames = "image_dim_names" // JSON ["C","H","W"], its dimension order
	MetaLabelled      = "labelled"        // "false": the images have no labels (all 0); absent or "true" otherwise
)

// Field metadata of the image column. A plain table carries FieldShape and
// FieldDimNames; a tensor table (TensorImageSchema) the canonical extension
// type's two keys instead.
const (
	FieldShape           = "shape"
	FieldDimNames        = "dim_names"
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
	imageDimNames  = []string{"C", "H", "W"}
	imageShapeJSON = mustJSON(ImageShape)
	imageDimsJSON  = mustJSON(imageDimNames)
	imageTensorMD  = mustJSON(tensorMetadata{Shape: ImageShape[:], DimNames: imageDimNames})
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
// one int32 column for each name in extra. The image column is a plain
// fixed-size list whose shape and order are in field and schema metadata.
func ImageSchema(meta map[string]string, extra ...string) *arrow.Schema {
	return NewImageSchema(SchemaOptions{Meta: meta, Extra: extra})
}

// TensorImageSchema is ImageSchema with the image column marked as the
// canonical extension type arrow.fixed_shape_tensor (shape [3,32,32],
// dim_names C, H, W), which pyarrow reads as a tensor column and Polars
// cannot read at all.
func TensorImageSchema(meta map[string]string, extra ...string) *arrow.Schema {
	return NewImageSchema(SchemaOptions{Meta: meta, Extra: extra, Tensor: true})
}

// SchemaOptions choose an image-table schema.
type SchemaOptions struct {
	Meta   map[string]string // schema metadata; class_names is filled in when it lacks it
	Extra  []string          // int32 columns after the others
	Tensor bool              // mark the image column as arrow.fixed_shape_tensor (TensorImageSchema)
	Path   bool              // a utf8 column path after the image: each image's file
}

// NewImageSchema returns the image-table schema o describes.
func NewImageSchema(o SchemaOptions) *arrow.Schema {
	md := map[string]string{MetaClassNames: classNamesJSON, MetaImageShape: imageShapeJSON, MetaImageDimNames: imageDimsJSON}
	for k, v := range o.Meta {
		md[k] = v
	}
	fmd := arrow.NewMetadata([]string{FieldShape, FieldDimNames}, []string{imageShapeJSON, imageDimsJSON})
	if o.Tensor {
		fmd = arrow.NewMetadata([]string{ExtensionNameKey, ExtensionMetadataKey}, []string{TensorExtensionName, imageTensorMD})
	}
	fields := []arrow.Field{
		{Name: ColIndex, Type: arrow.PrimitiveTypes.Int32},
		{Name: ColLabel, Type: arrow.PrimitiveTypes.Uint8},
		{Name: ColImage, Type: imageType, Metadata: fmd},
	}
	if o.Path {
		fields = append(fields, arrow.Field{Name: ColPath, Type: arrow.BinaryTypes.String})
	}
	for _, name := range o.Extra {
		fields = append(fields, arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Int32})
	}
	mdv := arrow.MetadataFrom(md)
	return arrow.NewSchema(fields, &mdv)
}

// IsTensorSchema reports whether s marks its image column as the canonical
// tensor extension type (TensorImageSchema, and the tables of version 0.1).
func IsTensorSchema(s *arrow.Schema) bool {
	idx := s.FieldIndices(ColImage)
	if len(idx) != 1 {
		return false
	}
	name, _ := s.Field(idx[0]).Metadata.GetValue(ExtensionNameKey)
	return name == TensorExtensionName
}

// layout locates the columns of a validated image schema.
type layout struct {
	index, label, image int
	path                int      // -1: none
	extra               []string // names of the extra int32 columns
	extraCol            []int
	classes             []string
}

// checkSchema validates s as an image-table schema.
func checkSchema(s *arrow.Schema) (layout, error) {
	l := layout{path: -1}
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
	if err := checkImageField(s.Field(l.image)); err != nil {
		return l, fmt.Errorf("column %q: %w", ColImage, err)
	}
	md := s.Metadata().ToMap()
	if err := checkImageMeta(md); err != nil {
		return l, err
	}
	var err error
	if l.classes, err = ClassNamesOf(md); err != nil {
		return l, err
	}
	switch idx := s.FieldIndices(ColPath); {
	case len(idx) > 1:
		return l, fmt.Errorf("want at most one column %q, found %d", ColPath, len(idx))
	case len(idx) == 1 && s.Field(idx[0]).Type.ID() != arrow.STRING:
		return l, fmt.Errorf("column %q: want utf8, got %s", ColPath, s.Field(idx[0]).Type)
	case len(idx) == 1:
		l.path = idx[0]
	}
	for i, f := range s.Fields() {
		if i == l.index || i == l.label || i == l.image || i == l.path {
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

// checkImageField checks the image column's annotation: the tensor extension
// type, or the plain list's shape and dim_names metadata. One of them must
// say the pixels are CHW, 3x32x32.
func checkImageField(f arrow.Field) error {
	if name, ok := f.Metadata.GetValue(ExtensionNameKey); ok {
		return checkTensorField(name, f)
	}
	raw, ok := f.Metadata.GetValue(FieldShape)
	if !ok {
		return fmt.Errorf("no shape: want field metadata %s = %s, or the %s extension type", FieldShape, imageShapeJSON, TensorExtensionName)
	}
	if err := checkShape("field metadata "+FieldShape, raw); err != nil {
		return err
	}
	if raw, ok := f.Metadata.GetValue(FieldDimNames); ok {
		return checkDimNames("field metadata "+FieldDimNames, raw)
	}
	return nil
}

func checkTensorField(name string, f arrow.Field) error {
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

// checkImageMeta checks the schema metadata's image shape and order, when present.
func checkImageMeta(md map[string]string) error {
	if raw, ok := md[MetaImageShape]; ok {
		if err := checkShape("metadata "+MetaImageShape, raw); err != nil {
			return err
		}
	}
	if raw, ok := md[MetaImageDimNames]; ok {
		return checkDimNames("metadata "+MetaImageDimNames, raw)
	}
	return nil
}

func checkShape(what, raw string) error {
	var shape []int
	if err := json.Unmarshal([]byte(raw), &shape); err != nil {
		return fmt.Errorf("%s %q: want a JSON list of integers", what, raw)
	}
	if !slices.Equal(shape, ImageShape[:]) {
		return fmt.Errorf("%s %v, want %v", what, shape, ImageShape)
	}
	return nil
}

func checkDimNames(what, raw string) error {
	var names []string
	if err := json.Unmarshal([]byte(raw), &names); err != nil {
		return fmt.Errorf("%s %q: want a JSON list of strings", what, raw)
	}
	if !slices.Equal(names, imageDimNames) {
		return fmt.Errorf("%s %q, want %q (CHW)", what, names, imageDimNames)
	}
	return nil
}

// MaxClasses is the most classes a uint8 label can tell apart.
const MaxClasses = 256

// ClassNamesOf returns the class names in a table's schema metadata, or the
// CIFAR-10 ones when it has none.
func ClassNamesOf(md map[string]string) ([]string, error) {
	raw, ok := md[MetaClassNames]
	if !ok {
		return ClassNames[:], nil
	}
	var names []string
	if err := json.Unmarshal([]byte(raw), &names); err != nil {
		return nil, fmt.Errorf("metadata %s: want a JSON list of strings: %w", MetaClassNames, err)
	}
	if len(names) == 0 || len(names) > MaxClasses {
		return nil, fmt.Errorf("metadata %s: %d classes, want 1 to %d", MetaClassNames, len(names), MaxClasses)
	}
	return names, nil
}
