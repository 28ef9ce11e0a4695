// Package onnxtest reads ONNX files back in tests, field by field, with no
// generated protobuf code: enough to check what the exporter wrote.
package onnxtest

import (
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// Fields decodes one protobuf message into its fields by number, in order:
// varints as uint64, length-delimited ones (strings, bytes, messages) as
// []byte. Other wire types, or a malformed message, fail the test.
func Fields(t testing.TB, b []byte) map[protowire.Number][]any {
	t.Helper()
	out := map[protowire.Number][]any{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		switch typ {
		case protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			if m < 0 {
				t.Fatalf("field %d: %v", num, protowire.ParseError(m))
			}
			out[num], b = append(out[num], v), b[m:]
		case protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			if m < 0 {
				t.Fatalf("field %d: %v", num, protowire.ParseError(m))
			}
			out[num], b = append(out[num], v), b[m:]
		default:
			t.Fatalf("field %d: unexpected wire type %d", num, typ)
		}
	}
	return out
}

// Str is a length-delimited field's value as a string.
func Str(v any) string { return string(v.([]byte)) }

// Metadata is the metadata_props (field 14) of a ModelProto's fields.
func Metadata(t testing.TB, model map[protowire.Number][]any) map[string]string {
	t.Helper()
	meta := map[string]string{}
	for _, e := range model[14] {
		kv := Fields(t, e.([]byte))
		if len(kv[1]) != 1 || len(kv[2]) != 1 {
			t.Fatalf("metadata entry %v: want one key and one value", kv)
		}
		meta[Str(kv[1][0])] = Str(kv[2][0])
	}
	return meta
}
