package arrowio

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/simclr-go/simclr/pkg/arrowio/arrowiotest"
)

// makeBatch returns n rows whose values derive from their index, so any
// misplaced byte shows.
func makeBatch(n, first int, extra ...string) ImageBatch {
	b := ImageBatch{
		Index:  make([]int32, n),
		Label:  make([]uint8, n),
		Pixels: make([]uint8, n*ImageSize),
	}
	for i := range n {
		b.Index[i] = int32(first + i)
		b.Label[i] = uint8((first + i) % 10)
		for j := range ImageSize {
			b.Pixels[i*ImageSize+j] = uint8(first + i + 7*j)
		}
	}
	for _, name := range extra {
		if b.Extra == nil {
			b.Extra = map[string][]int32{}
		}
		col := make([]int32, n)
		for i := range col {
			col[i] = int32(-(first + i))
		}
		b.Extra[name] = col
	}
	return b
}

var testMeta = map[string]string{MetaSplit: "test", MetaSource: "unit", MetaProducer: "arrowio-test 0"}

// writeTable writes rows to a stream (file == false) or an IPC file and
// returns the bytes, handing them to Write in pieces of step rows, or of
// growing sizes (1, 3, 9, ...) when step is 0.
func writeTable(t testing.TB, file bool, rows, step int, extra ...string) []byte {
	t.Helper()
	schema := ImageSchema(testMeta, extra...)
	var (
		w    *ImageWriter
		err  error
		buf  bytes.Buffer
		path = filepath.Join(t.TempDir(), "t.arrow")
	)
	if file {
		w, err = CreateImages(path, schema)
	} else {
		w, err = NewImageWriter(&buf, "buf", schema)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for start, n := 0, max(step, 1); start < rows; start += n {
		if step == 0 && start > 0 {
			n *= 3
		}
		n = min(n, rows-start)
		if err := w.Write(makeBatch(n, start, extra...)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !file {
		return buf.Bytes()
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// readAll reads a whole table, checking batch sizes on the way.
func readAll(t *testing.T, r *ImageReader) (ImageBatch, []int) {
	t.Helper()
	var all ImageBatch
	var sizes []int
	for r.Next() {
		b := r.Batch()
		sizes = append(sizes, b.Len())
		all.Index = append(all.Index, b.Index...)
		all.Label = append(all.Label, b.Label...)
		all.Pixels = append(all.Pixels, b.Pixels...)
		for name, col := range b.Extra {
			if all.Extra == nil {
				all.Extra = map[string][]int32{}
			}
			all.Extra[name] = append(all.Extra[name], col...)
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return all, sizes
}

func TestRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		name  string
		file  bool
		pipe  bool // read through a plain io.Reader
		rows  int
		step  int // rows per Write; 0: growing pieces 1, 3, 9, ...
		extra []string
	}{
		{"stream empty", false, true, 0, 0, nil},
		{"stream one", false, true, 1, 0, nil},
		{"stream 2500", false, true, 2500, 0, nil},
		{"stream view column", false, true, 1500, 0, []string{"view"}},
		{"stream view column, one Write", false, true, 2100, 2100, []string{"view"}},
		{"file empty", true, false, 0, 0, nil},
		{"file exact batch", true, false, BatchRows, 0, nil},
		{"file 2500", true, false, 2500, 0, nil},
		{"file 2500, one Write", true, false, 2500, 2500, nil},
		{"file 3000 in pieces of 700", true, false, 3000, 700, nil},
		{"file two extras", true, false, 1030, 0, []string{"view", "crop"}},
		{"file through pipe", true, true, 1100, 0, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			data := writeTable(t, tt.file, tt.rows, tt.step, tt.extra...)
			if got := bytes.HasPrefix(data, []byte("ARROW1")); got != tt.file {
				t.Fatalf("file magic present = %v, want %v", got, tt.file)
			}
			var src io.Reader = bytes.NewReader(data)
			if tt.pipe {
				src = arrowiotest.Pipe(src)
			}
			r, err := NewImageReader(src, "t.arrow")
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			// A file's footer and batch headers give its row count before
			// any batch is read; a stream says only at its end.
			if n, ok := r.NumRows(); ok != tt.file || ok && n != tt.rows {
				t.Errorf("NumRows() = %d, %v; want %d, %v", n, ok, tt.rows, tt.file)
			}
			got, sizes := readAll(t, r)
			want := makeBatch(tt.rows, 0, tt.extra...)
			if !slices.Equal(got.Index, want.Index) || !slices.Equal(got.Label, want.Label) || !bytes.Equal(got.Pixels, want.Pixels) {
				t.Fatal("rows differ after the round trip")
			}
			for _, name := range tt.extra {
				if !slices.Equal(got.Extra[name], want.Extra[name]) {
					t.Errorf("column %q differs after the round trip", name)
				}
			}
			if !slices.Equal(r.Extra(), tt.extra) {
				t.Errorf("Extra() = %v, want %v", r.Extra(), tt.extra)
			}
			for i, n := range sizes {
				if n != BatchRows && i != len(sizes)-1 {
					t.Errorf("batch sizes %v: want %d rows in all but the last", sizes, BatchRows)
				}
			}
			md := r.Metadata()
			for k, v := range testMeta {
				if md[k] != v {
					t.Errorf("metadata %s = %q, want %q", k, md[k], v)
				}
			}
			var names []string
			if err := json.Unmarshal([]byte(md[MetaClassNames]), &names); err != nil || !slices.Equal(names, ClassNames[:]) {
				t.Errorf("class_names = %s (%v), want %v", md[MetaClassNames], err, ClassNames)
			}
		})
	}
}

// TestSchemaContract pins the on-disk schema that other tools and users rely
// on: by default a plain list with its shape in field and schema metadata,
// which Polars reads; as an option the canonical tensor extension type.
func TestSchemaContract(t *testing.T) {
	for _, tt := range []struct {
		name   string
		schema *arrow.Schema
		field  map[string]string
	}{
		{"plain", ImageSchema(nil), map[string]string{"shape": "[3,32,32]", "dim_names": `["C","H","W"]`}},
		{"tensor", TensorImageSchema(nil), map[string]string{
			"ARROW:extension:name":     "arrow.fixed_shape_tensor",
			"ARROW:extension:metadata": `{"shape":[3,32,32],"dim_names":["C","H","W"]}`,
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			w, err := NewImageWriter(&buf, "t", tt.schema)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Write(makeBatch(3, 0)); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			r, err := NewImageReader(bytes.NewReader(buf.Bytes()), "t.arrow")
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if got, _ := readAll(t, r); got.Len() != 3 {
				t.Errorf("read %d rows, want 3", got.Len())
			}
			fields := r.Schema().Fields()
			var got []string
			for _, f := range fields {
				got = append(got, f.Name+": "+f.Type.String())
			}
			want := []string{
				"index: int32",
				"label: uint8",
				"image: fixed_size_list<item: uint8, nullable>[3072]",
			}
			if !slices.Equal(got, want) {
				t.Errorf("fields = %q, want %q", got, want)
			}
			if md := fields[2].Metadata.ToMap(); !maps.Equal(md, tt.field) {
				t.Errorf("image field metadata = %q, want %q", md, tt.field)
			}
			md := r.Metadata()
			if md["image_shape"] != "[3,32,32]" || md["image_dim_names"] != `["C","H","W"]` || !strings.HasPrefix(md["class_names"], `["airplane",`) {
				t.Errorf("schema metadata = %q", md)
			}
			if IsTensorSchema(r.Schema()) != (tt.name == "tensor") {
				t.Errorf("IsTensorSchema = %v", IsTensorSchema(r.Schema()))
			}
		})
	}
}

// TestReadsVersion01Tables reads a table as version 0.1 wrote them: the
// tensor extension type and no image_shape schema metadata.
func TestReadsVersion01Tables(t *testing.T) {
	md := arrow.MetadataFrom(map[string]string{MetaClassNames: classNamesJSON, MetaSplit: "test"})
	old := arrow.NewSchema(TensorImageSchema(nil, "view").Fields(), &md)
	data := rawTable(t, old, func(b *array.RecordBuilder) {
		for i := range 3 {
			b.Field(0).(*array.Int32Builder).Append(int32(i))
			b.Field(1).(*array.Uint8Builder).Append(uint8(i))
			img := b.Field(2).(*array.FixedSizeListBuilder)
			img.Append(true)
			img.ValueBuilder().(*array.Uint8Builder).AppendValues(make([]uint8, ImageSize), nil)
			b.Field(3).(*array.Int32Builder).Append(int32(1 - i%2))
		}
	})
	r, err := NewImageReader(bytes.NewReader(data), "old.arrow")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, _ := readAll(t, r)
	if got.Len() != 3 || got.Label[2] != 2 || !slices.Equal(got.Extra["view"], []int32{1, 0, 1}) || len(r.ClassNames()) != 10 {
		t.Errorf("read %d rows, labels %v, views %v, classes %v", got.Len(), got.Label, got.Extra["view"], r.ClassNames())
	}
}

// TestCustomClasses: labels are checked against the table's own class list.
func TestCustomClasses(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewImageWriter(&buf, "t", ImageSchema(map[string]string{MetaClassNames: `["cat","dog","fox"]`}))
	if err != nil {
		t.Fatal(err)
	}
	b := makeBatch(3, 0)
	for i := range b.Label {
		b.Label[i] = uint8(i)
	}
	if err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	b.Label[1] = 3
	if err := w.Write(b); err == nil || !strings.Contains(err.Error(), "label 3 out of range 0-2") {
		t.Errorf("writing label 3 of 3 classes: err = %v", err)
	}
	if _, err := NewImageWriter(io.Discard, "t", ImageSchema(map[string]string{MetaClassNames: `[]`})); err == nil || !strings.Contains(err.Error(), "0 classes") {
		t.Errorf("empty class list: err = %v", err)
	}
}

func TestOpenImages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.arrow")
	if err := os.WriteFile(path, writeTable(t, true, 5, 0), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := OpenImages(path)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := readAll(t, r)
	if got.Len() != 5 {
		t.Errorf("read %d rows, want 5", got.Len())
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenImages(path + ".missing"); err == nil || !strings.Contains(err.Error(), path+".missing") {
		t.Errorf("OpenImages(missing) err = %v, want one naming the file", err)
	}
}

func TestTruncatedInput(t *testing.T) {
	stream := writeTable(t, false, 2100, 0)
	file := writeTable(t, true, 2100, 0)
	for _, tt := range []struct {
		name string
		data []byte
		pipe bool
		want string
	}{
		{"stream without end-of-stream marker", stream[:len(stream)-8], true, "truncated"},
		{"stream cut inside a batch", stream[:len(stream)/2], true, "unexpected EOF"},
		{"stream cut inside the schema", stream[:20], true, "not an Arrow IPC file or stream"},
		{"file cut", file[:len(file)-50], false, "not a valid Arrow IPC file"},
		{"file cut, through a pipe", file[:len(file)/2], true, "not a valid Arrow IPC file"},
		{"empty", nil, true, "empty input"},
		{"not arrow", []byte("label,image\n3,0 0 0\n"), true, "not an Arrow IPC file or stream"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var src io.Reader = bytes.NewReader(tt.data)
			if tt.pipe {
				src = arrowiotest.Pipe(src)
			}
			err := readErr(src)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "in.arrow: ") {
				t.Errorf("err = %v, want one starting with the name and containing %q", err, tt.want)
			}
		})
	}
}

// readErr reads a whole table and returns the first error, from opening or reading.
func readErr(src io.Reader) error {
	r, err := NewImageReader(src, "in.arrow")
	if err != nil {
		return err
	}
	defer r.Close()
	for r.Next() {
	}
	return r.Err()
}

// rawTable writes one record of arbitrary schema as an IPC stream, built by fill.
func rawTable(t *testing.T, schema *arrow.Schema, fill func(b *array.RecordBuilder)) []byte {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	fill(b)
	rec := b.NewRecord()
	defer rec.Release()
	return arrowiotest.Stream(t, rec)
}

// editSchema returns the image schema with field i replaced by f (or
// removed when f is nil) and the fields in more appended.
func editSchema(i int, f *arrow.Field, more ...arrow.Field) *arrow.Schema {
	fields := slices.Clone(ImageSchema(nil).Fields())
	if f == nil {
		fields = slices.Delete(fields, i, i+1)
	} else {
		fields[i] = *f
	}
	return arrow.NewSchema(append(fields, more...), nil)
}

func tensorField(typ arrow.DataType, kv ...string) *arrow.Field {
	var keys, vals []string
	for i := 0; i < len(kv); i += 2 {
		keys, vals = append(keys, kv[i]), append(vals, kv[i+1])
	}
	return &arrow.Field{Name: ColImage, Type: typ, Metadata: arrow.NewMetadata(keys, vals)}
}

func TestBadSchema(t *testing.T) {
	u8list := func(n int32) arrow.DataType { return arrow.FixedSizeListOf(n, arrow.PrimitiveTypes.Uint8) }
	const ext, extMD = "ARROW:extension:name", "ARROW:extension:metadata"
	for _, tt := range []struct {
		name   string
		schema *arrow.Schema
		want   string
	}{
		{"missing label", editSchema(1, nil), `want exactly one column "label", found 0`},
		{"label int32", editSchema(1, &arrow.Field{Name: ColLabel, Type: arrow.PrimitiveTypes.Int32}), `column "label": want uint8, got int32`},
		{"image too short", editSchema(2, tensorField(u8list(1024), ext, TensorExtensionName, extMD, `{"shape":[3,32,32]}`)),
			`column "image": want fixed_size_list<item: uint8, nullable>[3072], got fixed_size_list<item: uint8, nullable>[1024]`},
		{"image as float", editSchema(2, tensorField(arrow.FixedSizeListOf(ImageSize, arrow.PrimitiveTypes.Float32))), `column "image": want fixed_size_list`},
		{"no shape annotation", editSchema(2, tensorField(u8list(ImageSize))), `column "image": no shape: want field metadata shape = [3,32,32], or the arrow.fixed_shape_tensor extension type`},
		{"other extension", editSchema(2, tensorField(u8list(ImageSize), ext, "my.image", "shape", "[3,32,32]")), `column "image": extension name "my.image", want "arrow.fixed_shape_tensor"`},
		{"HWC field shape", editSchema(2, tensorField(u8list(ImageSize), "shape", "[32,32,3]")), `column "image": field metadata shape [32 32 3], want [3 32 32]`},
		{"HWC field dim_names", editSchema(2, tensorField(u8list(ImageSize), "shape", "[3,32,32]", "dim_names", `["H","W","C"]`)), `field metadata dim_names ["H" "W" "C"], want ["C" "H" "W"] (CHW)`},
		{"HWC schema image_shape", ImageSchema(map[string]string{MetaImageShape: "[32,32,3]"}), `metadata image_shape [32 32 3], want [3 32 32]`},
		{"HWC schema image_dim_names", ImageSchema(map[string]string{MetaImageDimNames: `["H","W","C"]`}), `metadata image_dim_names ["H" "W" "C"], want ["C" "H" "W"] (CHW)`},
		{"bad field shape JSON", editSchema(2, tensorField(u8list(ImageSize), "shape", "3x32x32")), `field metadata shape "3x32x32": want a JSON list of integers`},
		{"HWC shape", editSchema(2, tensorField(u8list(ImageSize), ext, TensorExtensionName, extMD, `{"shape":[32,32,3]}`)), `tensor shape [32 32 3], want [3 32 32]`},
		{"permuted", editSchema(2, tensorField(u8list(ImageSize), ext, TensorExtensionName, extMD, `{"shape":[3,32,32],"permutation":[1,2,0]}`)), `tensor permutation [1 2 0]`},
		{"bad extension JSON", editSchema(2, tensorField(u8list(ImageSize), ext, TensorExtensionName, extMD, `{shape`)), `extension metadata "{shape"`},
		{"float extra column", editSchema(0, &ImageSchema(nil).Fields()[0], arrow.Field{Name: "score", Type: arrow.PrimitiveTypes.Float32}), `column "score": extra columns must be int32, got float32`},
		{"duplicate index", editSchema(0, &ImageSchema(nil).Fields()[0], ImageSchema(nil).Fields()[0]), `want exactly one column "index", found 2`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			data := rawTable(t, tt.schema, func(*array.RecordBuilder) {})
			err := readErr(bytes.NewReader(data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("read err = %v, want it to contain %q", err, tt.want)
			}
			if _, err := NewImageWriter(io.Discard, "out", tt.schema); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("writer err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestBadValues(t *testing.T) {
	schema := ImageSchema(nil)
	row := func(b *array.RecordBuilder, label uint8, nullLabel bool) {
		b.Field(0).(*array.Int32Builder).Append(0)
		if nullLabel {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.Uint8Builder).Append(label)
		}
		img := b.Field(2).(*array.FixedSizeListBuilder)
		img.Append(true)
		img.ValueBuilder().(*array.Uint8Builder).AppendValues(make([]uint8, ImageSize), nil)
	}
	for _, tt := range []struct {
		name string
		fill func(b *array.RecordBuilder)
		want string
	}{
		{"label 10", func(b *array.RecordBuilder) { row(b, 3, false); row(b, 10, false) }, "in.arrow: row 1: label 10 out of range 0-9"},
		{"null label", func(b *array.RecordBuilder) { row(b, 3, true) }, `in.arrow: column "label": 1 null values at rows 0-0`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := readErr(bytes.NewReader(rawTable(t, schema, tt.fill)))
			if err == nil || err.Error() != tt.want {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestWriteRejectsBadBatchAndLeavesNoFile(t *testing.T) {
	good := makeBatch(2, 0)
	badLabel := makeBatch(2, 0)
	badLabel.Label[1] = 11
	short := makeBatch(2, 0)
	short.Pixels = short.Pixels[:ImageSize]
	noView := makeBatch(2, 0)
	for _, tt := range []struct {
		name  string
		b     ImageBatch
		extra []string
		want  string
	}{
		{"label 11", badLabel, nil, "row 1 of batch: label 11 out of range 0-9"},
		{"short pixels", short, nil, "2 labels, 2 indexes, 3072 pixel bytes"},
		{"missing extra column", noView, []string{"view"}, `2 labels, 0 values in column "view"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out.arrow")
			w, err := CreateImages(path, ImageSchema(nil, tt.extra...))
			if err != nil {
				t.Fatal(err)
			}
			if len(tt.extra) == 0 {
				if err := w.Write(good); err != nil {
					t.Fatal(err)
				}
			}
			err = w.Write(tt.b)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), path) {
				t.Errorf("err = %v, want one naming %s and containing %q", err, path, tt.want)
			}
			if err := w.Close(); err == nil {
				t.Error("Close after a failed Write succeeded")
			}
			if des, _ := os.ReadDir(dir); len(des) != 0 {
				t.Errorf("directory not empty after failure: %v", des)
			}
		})
	}
}

// TestPathColumn: a path column survives the regrouping of rows into record
// batches, in files and streams, and readers of tables without one see nil.
func TestPathColumn(t *testing.T) {
	schema := NewImageSchema(SchemaOptions{Path: true, Extra: []string{"view"}, Meta: map[string]string{MetaLabelled: "false"}})
	if got := schema.Field(3); got.Name != "path" || got.Type.ID() != arrow.STRING {
		t.Fatalf("field 3 = %v, want path: utf8", got)
	}
	pathOf := func(i int) string { return fmt.Sprintf("cats/%0*d é.png", i%7, i) }
	for _, file := range []bool{true, false} {
		dir := t.TempDir()
		out := filepath.Join(dir, "t.arrow")
		var buf bytes.Buffer
		var w *ImageWriter
		var err error
		if file {
			w, err = CreateImages(out, schema)
		} else {
			w, err = NewImageWriter(&buf, "t", schema)
		}
		if err != nil {
			t.Fatal(err)
		}
		const rows, step = 2100, 700
		for first := 0; first < rows; first += step {
			b := makeBatch(step, first, "view")
			b.Path = make([]string, step)
			for i := range b.Path {
				b.Path[i] = pathOf(first + i)
			}
			if err := w.Write(b); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		var src io.Reader = &buf
		if file {
			f, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			src = f
		}
		r, err := NewImageReader(src, "t")
		if err != nil {
			t.Fatal(err)
		}
		if !r.HasPath() || r.Labelled() {
			t.Errorf("HasPath %v, Labelled %v", r.HasPath(), r.Labelled())
		}
		var got []string
		for r.Next() {
			got = append(got, r.Batch().Path...)
		}
		if err := r.Err(); err != nil {
			t.Fatal(err)
		}
		r.Close()
		if len(got) != rows {
			t.Fatalf("file %v: %d paths, want %d", file, len(got), rows)
		}
		for i, p := range got {
			if p != pathOf(i) {
				t.Fatalf("file %v: path %d = %q, want %q", file, i, p, pathOf(i))
			}
		}
	}
	w, err := NewImageWriter(io.Discard, "t", schema)
	if err != nil {
		t.Fatal(err)
	}
	b := makeBatch(2, 0, "view")
	b.Path = []string{"a.png"}
	if err := w.Write(b); err == nil || !strings.Contains(err.Error(), "2 labels, 1 paths") {
		t.Errorf("short paths: err = %v", err)
	}
	w, _ = NewImageWriter(io.Discard, "t", schema)
	b.Path = []string{"a.png", "b\x00.png"}
	if err := w.Write(b); err == nil || !strings.Contains(err.Error(), "holds a NUL byte") {
		t.Errorf("NUL in path: err = %v", err)
	}
	plain, _ := readAll(t, mustReader(t, writeTable(t, true, 3, 0)))
	if plain.Path != nil {
		t.Errorf("table without a path column: Path = %v", plain.Path)
	}
	bad := editSchema(0, &ImageSchema(nil).Fields()[0], arrow.Field{Name: "path", Type: arrow.PrimitiveTypes.Int32})
	if _, err := NewImageWriter(io.Discard, "t", bad); err == nil || !strings.Contains(err.Error(), `column "path": want utf8, got int32`) {
		t.Errorf("int32 path column: err = %v", err)
	}
}

func mustReader(t *testing.T, data []byte) *ImageReader {
	t.Helper()
	r, err := NewImageReader(bytes.NewReader(data), "t")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}
