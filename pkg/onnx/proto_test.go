package onnx

import (
	"bytes"
	"encoding/hex"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// The wire bytes of small messages, worked out by hand from onnx.proto's
// field numbers: tag = field<<3 | wire type (0 varint, 2 length-delimited).
func TestMessageBytes(t *testing.T) {
	cases := []struct {
		what string
		got  []byte
		want string
	}{
		{"tensor", (&Tensor{Name: "b", Dims: []int64{2}, Data: []float32{1, -2}}).marshal(),
			"08 02" + // dims: 2
				"10 01" + // data_type: FLOAT
				"42 01 62" + // name (8): "b"
				"4a 08 0000803f 000000c0"}, // raw_data (9): 1.0, -2.0 little-endian
		{"value info", (&ValueInfo{Name: "x", ElemType: Float, Dims: []int64{0, 3}, Params: []string{"N"}}).marshal(),
			"0a 01 78" + // name: "x"
				"12 0f" + // type (2), TypeProto of 15 bytes
				"0a 0d" + // tensor_type (1), 13 bytes
				"08 01" + // elem_type: FLOAT
				"12 09" + // shape (2), 9 bytes: two dims
				"0a 03 12 01 4e" + // dim: dim_param (2) "N"
				"0a 02 08 03"}, // dim: dim_value (1) 3
		{"int attribute", (&Attr{Name: "axis", Type: attrInt, I: 1}).marshal(),
			"0a 04 61786973" + // name: "axis"
				"18 01" + // i (3): 1
				"a0 01 02"}, // type (20): INT; tag 20<<3 = 160 is two varint bytes
		{"ints attribute", func() []byte { a := IntsAttr("pads", 3, 3); return a.marshal() }(),
			"0a 04 70616473" + "40 03 40 03" + "a0 01 07"}, // ints (8), unpacked; type INTS
		{"node", (&Node{Name: "r", OpType: "Relu", Inputs: []string{"a"}, Outputs: []string{"r"}}).marshal(),
			"0a 01 61" + "12 01 72" + "1a 01 72" + "22 04 52656c75"}, // input, output, name, op_type
		{"model", (&Model{IRVersion: 8, Opset: 17, ProducerName: "p", ProducerVersion: "1", Metadata: []KV{{"k", "v"}}}).Marshal(),
			"08 08" + // ir_version: 8
				"12 01 70" + "1a 01 31" + // producer_name, producer_version
				"3a 00" + // graph (7), empty
				"42 02 10 11" + // opset_import (8): version (2) 17, domain left empty
				"72 06 0a 01 6b 12 01 76"}, // metadata_props (14): key "k", value "v"
	}
	for _, c := range cases {
		want, err := hex.DecodeString(stripSpaces(c.want))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(c.got, want) {
			t.Errorf("%s: got  % x\nwant % x", c.what, c.got, want)
		}
		// And protowire reads back what it wrote: whole fields, nothing left.
		for b := c.got; len(b) > 0; {
			_, typ, n := protowire.ConsumeTag(b)
			if n < 0 {
				t.Fatalf("%s: bad tag: %v", c.what, protowire.ParseError(n))
			}
			m := protowire.ConsumeFieldValue(0, typ, b[n:])
			if m < 0 {
				t.Fatalf("%s: bad field: %v", c.what, protowire.ParseError(m))
			}
			b = b[n+m:]
		}
	}
}

func stripSpaces(s string) string {
	return string(bytes.ReplaceAll([]byte(s), []byte(" "), nil))
}
