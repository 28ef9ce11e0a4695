// Package onnx writes ONNX models: the few protobuf messages of onnx.proto
// a feed-forward network needs, encoded by hand with protowire (no
// generated code, no cgo), and the ResNet-18 encoder as such a model
// (encoder.go).
//
// Field numbers are onnx.proto's (onnx/onnx, onnx/onnx.proto3). Repeated
// integers are written unpacked, as a proto2 writer would; proto2 and
// proto3 readers accept both forms.
package onnx

import (
	"encoding/binary"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Float is TensorProto.DataType FLOAT, float32.
const Float = 1

// AttributeProto.AttributeType values.
const (
	attrInt  = 2
	attrInts = 7
)

// Model is a ModelProto.
type Model struct {
	IRVersion       int64
	Opset           int64 // of the default domain, ai.onnx
	ProducerName    string
	ProducerVersion string
	DocString       string
	Graph           Graph
	Metadata        []KV // metadata_props, in this order
}

// KV is a StringStringEntryProto.
type KV struct{ Key, Value string }

// Graph is a GraphProto.
type Graph struct {
	Name        string
	Nodes       []Node // in topological order
	Initializer []Tensor
	Inputs      []ValueInfo
	Outputs     []ValueInfo
}

// Node is a NodeProto of the default domain.
type Node struct {
	Name    string
	OpType  string
	Inputs  []string
	Outputs []string
	Attrs   []Attr
}

// Attr is an AttributeProto holding an int (I) or a list of ints (Ints), as
// Type says: the only kinds of attribute the encoder's operators take.
type Attr struct {
	Name string
	Type int32
	I    int64
	Ints []int64
}

// IntAttr and IntsAttr make attributes of each kind.
func IntAttr(name string, v int64) Attr     { return Attr{Name: name, Type: attrInt, I: v} }
func IntsAttr(name string, v ...int64) Attr { return Attr{Name: name, Type: attrInts, Ints: v} }

// Tensor is a TensorProto of float32 values, stored as raw_data (IEEE 754,
// little-endian, row-major).
type Tensor struct {
	Name string
	Dims []int64
	Data []float32
}

// ValueInfo is a ValueInfoProto of a tensor type. A dimension is a fixed
// size, or symbolic (any size at run time) when its entry in Params is
// not empty.
type ValueInfo struct {
	Name     string
	ElemType int32
	Dims     []int64
	Params   []string // per dimension: a name for a symbolic one, or ""
}

// Marshal encodes the model as the bytes of an .onnx file.
func (m *Model) Marshal() []byte {
	var b []byte
	b = appendInt(b, 1, m.IRVersion)
	b = appendString(b, 2, m.ProducerName)
	b = appendString(b, 3, m.ProducerVersion)
	b = appendString(b, 6, m.DocString)
	b = appendMessage(b, 7, m.Graph.marshal())
	var opset []byte
	opset = appendInt(opset, 2, m.Opset) // domain (1) empty: ai.onnx
	b = appendMessage(b, 8, opset)
	for _, kv := range m.Metadata {
		var e []byte
		e = appendString(e, 1, kv.Key)
		e = appendString(e, 2, kv.Value)
		b = appendMessage(b, 14, e)
	}
	return b
}

func (g *Graph) marshal() []byte {
	var b []byte
	for i := range g.Nodes {
		b = appendMessage(b, 1, g.Nodes[i].marshal())
	}
	b = appendString(b, 2, g.Name)
	for i := range g.Initializer {
		b = appendMessage(b, 5, g.Initializer[i].marshal())
	}
	for i := range g.Inputs {
		b = appendMessage(b, 11, g.Inputs[i].marshal())
	}
	for i := range g.Outputs {
		b = appendMessage(b, 12, g.Outputs[i].marshal())
	}
	return b
}

func (n *Node) marshal() []byte {
	var b []byte
	for _, s := range n.Inputs {
		b = appendBytes(b, 1, s)
	}
	for _, s := range n.Outputs {
		b = appendBytes(b, 2, s)
	}
	b = appendString(b, 3, n.Name)
	b = appendString(b, 4, n.OpType)
	for i := range n.Attrs {
		b = appendMessage(b, 5, n.Attrs[i].marshal())
	}
	return b
}

func (a *Attr) marshal() []byte {
	var b []byte
	b = appendString(b, 1, a.Name)
	switch a.Type {
	case attrInt:
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(a.I))
	case attrInts:
		for _, v := range a.Ints {
			b = protowire.AppendTag(b, 8, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(v))
		}
	}
	b = protowire.AppendTag(b, 20, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(a.Type))
}

func (t *Tensor) marshal() []byte {
	var b []byte
	for _, d := range t.Dims {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(d))
	}
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, Float)
	b = appendString(b, 8, t.Name)
	raw := make([]byte, 4*len(t.Data))
	for i, v := range t.Data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	b = protowire.AppendTag(b, 9, protowire.BytesType)
	return protowire.AppendBytes(b, raw)
}

func (v *ValueInfo) marshal() []byte {
	var shape []byte
	for i, d := range v.Dims {
		var dim []byte
		if i < len(v.Params) && v.Params[i] != "" {
			dim = appendBytes(dim, 2, v.Params[i]) // dim_param
		} else {
			dim = protowire.AppendTag(dim, 1, protowire.VarintType) // dim_value
			dim = protowire.AppendVarint(dim, uint64(d))
		}
		shape = appendMessage(shape, 1, dim)
	}
	var tensor []byte
	tensor = protowire.AppendTag(tensor, 1, protowire.VarintType)
	tensor = protowire.AppendVarint(tensor, uint64(v.ElemType))
	tensor = appendMessage(tensor, 2, shape)
	var typ []byte
	typ = appendMessage(typ, 1, tensor) // TypeProto.tensor_type
	var b []byte
	b = appendString(b, 1, v.Name)
	return appendMessage(b, 2, typ)
}

// appendInt writes a non-zero int64 field (proto3 leaves zero out).
func appendInt(b []byte, num protowire.Number, v int64) []byte {
	if v == 0 {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(v))
}

// appendString writes a non-empty string field.
func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	return appendBytes(b, num, s)
}

// appendBytes writes a string field even when empty: an element of a
// repeated field, where an empty entry still counts.
func appendBytes(b []byte, num protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

// appendMessage writes an embedded message, even an empty one, so that the
// field is present.
func appendMessage(b []byte, num protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}

// Parameters is the number of values the graph's initializers hold.
func (g *Graph) Parameters() int {
	n := 0
	for i := range g.Initializer {
		n += len(g.Initializer[i].Data)
	}
	return n
}
