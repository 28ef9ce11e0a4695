package main

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Named is one entry of an Ordered list.
type Named[V any] struct {
	Name  string
	Value V
}

// Ordered is a list of named values that reads and writes as a JSON object
// whose members keep the list's order (a Go map would sort them).
type Ordered[V any] []Named[V]

// Get returns the value of the first entry called name.
func (o Ordered[V]) Get(name string) (V, bool) {
	for _, e := range o {
		if e.Name == name {
			return e.Value, true
		}
	}
	var zero V
	return zero, false
}

// MarshalJSON writes the entries as the members of an object, in order.
func (o Ordered[V]) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(e.Name)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(e.Value)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name, err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads the members of an object, in order.
func (o *Ordered[V]) UnmarshalJSON(data []byte) error {
	d := json.NewDecoder(bytes.NewReader(data))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return fmt.Errorf("want a JSON object, got %.20s", data)
	}
	*o = (*o)[:0]
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return err
		}
		var e Named[V]
		e.Name = t.(string) // object keys are strings
		if err := d.Decode(&e.Value); err != nil {
			return fmt.Errorf("%s: %w", e.Name, err)
		}
		*o = append(*o, e)
	}
	_, err := d.Token() // the closing brace
	return err
}
