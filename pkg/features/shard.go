package features

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Schema metadata keys of a shard's table (extract --shard), from which a
// reader checks that a set of shards is the whole table.
const (
	MetaShard          = "shard"            // "I/N": shard I of N, counted from 0
	MetaShardRows      = "shard_rows"       // "LO:HI": the rows of the whole table it holds, LO to HI-1
	MetaShardTableRows = "shard_table_rows" // rows of the whole table
)

// Shard is shard I of N of a table, 0 <= I < N.
type Shard struct{ I, N int }

// NewShard returns shard i of n, refusing i outside 0 to n-1 and n < 1.
func NewShard(i, n int) (Shard, error) {
	switch {
	case n < 1 || n > math.MaxInt32:
		return Shard{}, fmt.Errorf("%d shards: want 1 to %d", n, math.MaxInt32)
	case i < 0 || i >= n:
		return Shard{}, fmt.Errorf("shard %d of %d: want 0 to %d", i, n, n-1)
	}
	return Shard{i, n}, nil
}

// ParseShard parses "I/N", as String writes it. Its errors do not repeat s.
func ParseShard(s string) (Shard, error) {
	is, ns, _ := strings.Cut(s, "/")
	i, ierr := strconv.Atoi(is)
	n, nerr := strconv.Atoi(ns)
	if ierr != nil || nerr != nil {
		return Shard{}, errors.New("want I/N, shard I of N counted from 0 (0/4 to 3/4)")
	}
	return NewShard(i, n)
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.I, s.N) }

// Rows returns the rows [lo, hi) of a table of n rows that s holds: shard I
// of N covers [I·n/N, (I+1)·n/N), rounded down. The shards are contiguous
// and in order, so their tables concatenated from 0 to N-1 are the whole
// table, and their sizes differ by at most one row; none is empty when
// N <= n. This is the one definition of the split: extract cuts by it and
// ShardOf and CheckShards check against it.
func (s Shard) Rows(n int) (lo, hi int) {
	// I·n takes up to 62 bits: int64 also where int has 32.
	at := func(i int) int { return int(int64(i) * int64(n) / int64(s.N)) }
	return at(s.I), at(s.I + 1)
}

// SetMetadata records in meta that the table holds shard s of a table of n rows.
func (s Shard) SetMetadata(meta map[string]string, n int) {
	lo, hi := s.Rows(n)
	meta[MetaShard] = s.String()
	meta[MetaShardRows] = fmt.Sprintf("%d:%d", lo, hi)
	meta[MetaShardTableRows] = strconv.Itoa(n)
}

// ShardOf reads what SetMetadata recorded in md: the shard and the rows of
// the whole table; ok is false when md has no shard key. The row range
// must be the one Rows gives.
func ShardOf(md map[string]string) (s Shard, n int, ok bool, err error) {
	v, ok := md[MetaShard]
	if !ok {
		return Shard{}, 0, false, nil
	}
	if s, err = ParseShard(v); err != nil {
		return Shard{}, 0, true, fmt.Errorf("metadata %s %q: %w", MetaShard, v, err)
	}
	if n, err = strconv.Atoi(md[MetaShardTableRows]); err != nil || n < 0 {
		return Shard{}, 0, true, fmt.Errorf("metadata %s %q: want a row count", MetaShardTableRows, md[MetaShardTableRows])
	}
	if lo, hi := s.Rows(n); md[MetaShardRows] != fmt.Sprintf("%d:%d", lo, hi) {
		return Shard{}, 0, true, fmt.Errorf("metadata %s %q: shard %s of %d rows holds rows %d:%d", MetaShardRows, md[MetaShardRows], s, n, lo, hi)
	}
	return s, n, true, nil
}

// CheckShards checks that tables, if they carry shard metadata, are all the
// shards of one table, each whole, in order 0 to N-1. Tables without shard
// metadata pass; a mixture does not. Errors name the files.
func CheckShards(tables []*Table) error {
	shards, rows := make([]Shard, len(tables)), make([]int, len(tables))
	sharded, plain := -1, -1 // a table that is a shard, one that is not
	for k, t := range tables {
		s, n, ok, err := ShardOf(t.Metadata)
		switch {
		case err != nil:
			return fmt.Errorf("%s: %w", t.Name, err)
		case ok:
			shards[k], rows[k], sharded = s, n, k
		default:
			plain = k
		}
	}
	switch {
	case sharded < 0:
		return nil
	case plain >= 0:
		return fmt.Errorf("%s is shard %s, but %s is no shard", tables[sharded].Name, shards[sharded], tables[plain].Name)
	}
	n, total := shards[0].N, rows[0]
	seen := make(map[int]string, len(tables))
	for k, t := range tables {
		s := shards[k]
		switch {
		case s.N != n:
			return fmt.Errorf("%s is shard %s, but %s is shard %s: different shard counts", t.Name, s, tables[0].Name, shards[0])
		case rows[k] != total:
			return fmt.Errorf("%s is a shard of a table of %d rows, but %s of one of %d", t.Name, rows[k], tables[0].Name, total)
		}
		if lo, hi := s.Rows(total); t.Len() != hi-lo {
			return fmt.Errorf("%s: %d rows, but shard %s of %d rows holds %d (rows %d:%d)", t.Name, t.Len(), s, total, hi-lo, lo, hi)
		}
		switch other, dup := seen[s.I]; {
		case dup && other == t.Name:
			return fmt.Errorf("%s given twice (shard %s)", t.Name, s)
		case dup:
			return fmt.Errorf("%s is shard %s again (as %s)", t.Name, s, other)
		}
		seen[s.I] = t.Name
	}
	var missing []string
	for i := range n {
		if _, ok := seen[i]; !ok {
			missing = append(missing, Shard{i, n}.String())
		}
	}
	switch {
	case len(missing) == 1:
		return fmt.Errorf("shard %s missing: %d of the %d shards given", missing[0], len(tables), n)
	case len(missing) > 1:
		return fmt.Errorf("shards %s missing: %d of the %d shards given", strings.Join(missing, ", "), len(tables), n)
	}
	for k, s := range shards {
		if s.I != k {
			return fmt.Errorf("shards out of order: %s is shard %s but comes in place %d; give them in order 0 to %d", tables[k].Name, s, k, n-1)
		}
	}
	return nil
}
