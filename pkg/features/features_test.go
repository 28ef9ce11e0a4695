package features

import (
	"bytes"
	"math"
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

// sample returns n rows of width dim with values that identify their place.
func sample(n, dim int) Batch {
	b := Batch{Index: make([]int32, n), Label: make([]uint8, n), Features: make([]float32, n*dim)}
	for i := range n {
		b.Index[i] = int32(n - i)
		b.Label[i] = uint8(i % 10)
		for j := range dim {
			b.Features[i*dim+j] = float32(i) + float32(j)/100
		}
	}
	return b
}

// writeAll writes b through w in pieces of the given sizes.
func writeAll(t *testing.T, w *Writer, b Batch, pieces ...int) {
	t.Helper()
	at := 0
	for _, n := range pieces {
		piece := Batch{Index: b.Index[at : at+n], Label: b.Label[at : at+n], Features: b.Features[at*w.Dim() : (at+n)*w.Dim()]}
		if err := w.Write(piece); err != nil {
			t.Fatal(err)
		}
		at += n
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestRoundTrip(t *testing.T) {
	const dim = 5
	want := sample(5000, dim)
	// Across the writer's 1024-row batches, some filled from pieces, one
	// written straight from the caller's memory.
	pieces := []int{1000, 100, 1, 2100, 1799}
	meta := map[string]string{MetaCheckpoint: "ckpt-0100.bin", MetaEpoch: "100", MetaSplit: "test"}

	dir := t.TempDir()
	file := filepath.Join(dir, "feats.arrow")
	w, err := Create(file, dim, meta)
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, w, want, pieces...)
	fileBytes, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var stream bytes.Buffer
	w, err = NewWriter(&stream, "stream", dim, meta)
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, w, want, pieces...)

	for _, tc := range []struct {
		name string
		read func() (*Table, error)
	}{
		{"file", func() (*Table, error) { return ReadAll(file) }},
		{"file through a pipe", func() (*Table, error) { return ReadAllFrom(arrowiotest.Pipe(bytes.NewReader(fileBytes)), "p") }},
		{"stream", func() (*Table, error) { return ReadAllFrom(bytes.NewReader(stream.Bytes()), "s") }},
		{"stream through a pipe", func() (*Table, error) { return ReadAllFrom(arrowiotest.Pipe(bytes.NewReader(stream.Bytes())), "p") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.read()
			if err != nil {
				t.Fatal(err)
			}
			if got.Dim != dim || got.Len() != want.Len() {
				t.Fatalf("got %d rows of width %d, want %d of %d", got.Len(), got.Dim, want.Len(), dim)
			}
			if !slices.Equal(got.Index, want.Index) || !slices.Equal(got.Label, want.Label) || !slices.Equal(got.Features, want.Features) {
				t.Error("values differ")
			}
			if !slices.Equal(got.Row(7), want.Features[7*dim:8*dim]) {
				t.Errorf("Row(7) = %v", got.Row(7))
			}
			for k, v := range meta {
				if got.Metadata[k] != v {
					t.Errorf("metadata %s = %q, want %q", k, got.Metadata[k], v)
				}
			}
			if len(got.ClassNames) != 10 || got.ClassNames[3] != "cat" || got.Metadata[MetaClassNames] == "" {
				t.Errorf("class names %v, metadata %q", got.ClassNames, got.Metadata[MetaClassNames])
			}
		})
	}
}

func TestBatches(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, "s", 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, w, sample(2100, 2), 700, 700, 700)
	r, err := NewReader(&buf, "s")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var sizes []int
	for r.Next() {
		sizes = append(sizes, r.Batch().Len())
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if want := []int{1024, 1024, 52}; !slices.Equal(sizes, want) {
		t.Errorf("batch sizes %v, want %v", sizes, want)
	}
}

func TestEmptyTable(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, "s", 4, nil)
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, w, Batch{})
	tab, err := ReadAllFrom(&buf, "s")
	if err != nil {
		t.Fatal(err)
	}
	if tab.Len() != 0 || tab.Dim != 4 {
		t.Errorf("got %d rows of width %d", tab.Len(), tab.Dim)
	}
}

func TestWriteErrors(t *testing.T) {
	good := sample(3, 2)
	for _, tc := range []struct {
		name string
		dim  int
		meta map[string]string
		b    Batch
		want string
	}{
		{"zero width", 0, nil, Batch{}, "feature width 0"},
		{"bad class names", 2, map[string]string{MetaClassNames: "cat,dog"}, good, "class_names: want a JSON list"},
		{"label out of range", 2, nil, Batch{Index: good.Index, Label: []uint8{0, 10, 1}, Features: good.Features}, "row 1: label 10 out of range 0-9"},
		{"label beyond custom classes", 2, map[string]string{MetaClassNames: `["a","b"]`}, good, "row 2: label 2 out of range 0-1"},
		{"short features", 2, nil, Batch{Index: good.Index, Label: good.Label, Features: good.Features[:5]}, "5 feature values for width 2"},
		{"infinity", 2, nil, Batch{Index: good.Index, Label: good.Label, Features: []float32{float32(math.Inf(1)), 1, 2, 3, 4, 5}}, "row 0: feature 0 is +Inf"},
		{"NaN", 2, nil, Batch{Index: good.Index, Label: good.Label, Features: []float32{0, 1, 2, float32(math.NaN()), 4, 5}}, "row 1: feature 1 is NaN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "out.arrow")
			w, err := Create(path, tc.dim, tc.meta)
			if err == nil {
				err = w.Write(tc.b)
				if w.Close() == nil {
					t.Fatal("Close after a failed Write succeeded")
				}
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %v, want one naming %s with %q", err, path, tc.want)
			}
			if _, err := os.Stat(path); !os.IsNotExist(err) {
				t.Errorf("output exists after a failed write: %v", err)
			}
		})
	}
}

func TestAbort(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.arrow")
	w, err := Create(path, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(sample(3, 2)); err != nil {
		t.Fatal(err)
	}
	w.Abort()
	w.Abort()
	if err := w.Write(sample(1, 2)); err == nil {
		t.Error("Write after Abort succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("directory holds %v after Abort", entries)
	}
}

// rawTable encodes rows given as JSON under any schema as an IPC file, to
// make tables the Writer refuses to write.
func rawTable(t *testing.T, schema *arrow.Schema, rows string) []byte {
	t.Helper()
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, schema, strings.NewReader(rows))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	return arrowiotest.File(t, rec)
}

func schemaOf(feature arrow.DataType, label arrow.DataType, meta map[string]string) *arrow.Schema {
	md := arrow.MetadataFrom(meta)
	return arrow.NewSchema([]arrow.Field{
		{Name: ColIndex, Type: arrow.PrimitiveTypes.Int32},
		{Name: ColLabel, Type: label},
		{Name: ColFeature, Type: feature, Nullable: true},
	}, &md)
}

func TestReadErrors(t *testing.T) {
	f32x2 := arrow.FixedSizeListOf(2, arrow.PrimitiveTypes.Float32)
	u8 := arrow.PrimitiveTypes.Uint8
	row := `[{"index": 0, "label": 1, "feature": [1, 2]}]`
	var stream bytes.Buffer
	w, err := NewWriter(&stream, "s", 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, w, sample(2000, 2), 2000)
	full := stream.Bytes()

	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty input", nil, "empty input"},
		{"not arrow", []byte("index,label\n1,2\n"), "not an Arrow IPC file or stream"},
		{"huge first message", []byte("\xff\xff\xff\xff\x00\x00\x00\x7f and more"), "schema message of 2130706432 bytes"},
		{"truncated file", rawTable(t, schemaOf(f32x2, u8, nil), row)[:200], "not a valid Arrow IPC file"},
		{"stream cut mid-batch", full[:len(full)-100], "after 1024 rows: message 2: body cut after 12596 of 12688 bytes: unexpected EOF"},
		{"stream without end marker", full[:len(full)-8], "after 2000 rows: truncated"},
		{"float64 features", rawTable(t, schemaOf(arrow.FixedSizeListOf(2, arrow.PrimitiveTypes.Float64), u8, nil), row),
			`column "feature": want fixed_size_list<float32>, got fixed_size_list<item: float64`},
		{"variable-length list", rawTable(t, schemaOf(arrow.ListOf(arrow.PrimitiveTypes.Float32), u8, nil), row),
			`column "feature": want fixed_size_list<float32>, got list<item: float32`},
		{"int32 labels", rawTable(t, schemaOf(f32x2, arrow.PrimitiveTypes.Int32, nil), row), `column "label": want uint8, got int32`},
		{"missing column", rawTable(t, arrow.NewSchema([]arrow.Field{{Name: ColIndex, Type: arrow.PrimitiveTypes.Int32}, {Name: ColFeature, Type: f32x2}}, nil),
			`[{"index": 0, "feature": [1, 2]}]`), `want exactly one column "label", found 0`},
		{"label out of range", rawTable(t, schemaOf(f32x2, u8, nil), `[{"index": 0, "label": 1, "feature": [1, 2]}, {"index": 1, "label": 12, "feature": [1, 2]}]`),
			"after 0 rows: row 1: label 12 out of range 0-9"},
		{"label beyond class names", rawTable(t, schemaOf(f32x2, u8, map[string]string{MetaClassNames: `["a"]`}), row), "label 1 out of range 0-0"},
		{"null features", rawTable(t, schemaOf(f32x2, u8, nil), `[{"index": 0, "label": 1, "feature": null}]`), `column "feature": 1 null values`},
		{"null feature value", rawTable(t, schemaOf(f32x2, u8, nil), `[{"index": 0, "label": 1, "feature": [1, null]}]`), "feature values missing or null"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "train_feats.arrow")
			if err := os.WriteFile(path, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadAll(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), path+": ") {
				t.Errorf("error %v, want one starting %s: with %q", err, path, tc.want)
			}
		})
	}
}

func TestOpenMissing(t *testing.T) {
	_, err := ReadAll(filepath.Join(t.TempDir(), "nope.arrow"))
	if !os.IsNotExist(err) {
		t.Errorf("error %v, want not-exist", err)
	}
}
