package features

import (
	"strings"
	"testing"
)

// The shards of every count cover the table's rows once, in order, in
// pieces that differ by at most a row.
func TestShardRows(t *testing.T) {
	for _, n := range []int{0, 1, 5, 7, 10, 1000, 50_000} {
		for _, shards := range []int{1, 2, 3, 7, 16, n} {
			if shards < 1 {
				continue
			}
			next, smallest, largest := 0, n, 0
			for i := range shards {
				lo, hi := Shard{i, shards}.Rows(n)
				if lo != next || hi < lo {
					t.Fatalf("%d rows, shard %d/%d: rows %d:%d, want from %d", n, i, shards, lo, hi, next)
				}
				next, smallest, largest = hi, min(smallest, hi-lo), max(largest, hi-lo)
			}
			if next != n || largest-smallest > 1 || shards <= n && smallest == 0 {
				t.Errorf("%d rows in %d shards: end %d, sizes %d to %d", n, shards, next, smallest, largest)
			}
		}
	}
}

func TestParseShard(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Shard
		err  string
	}{
		{"0/1", Shard{0, 1}, ""},
		{"2/3", Shard{2, 3}, ""},
		{"15/16", Shard{15, 16}, ""},
		{"3/3", Shard{}, "shard 3 of 3: want 0 to 2"},
		{"-1/3", Shard{}, "shard -1 of 3: want 0 to 2"},
		{"0/0", Shard{}, "0 shards: want 1 to"},
		{"1/-2", Shard{}, "-2 shards: want 1 to"},
		{"a/3", Shard{}, "want I/N"},
		{"1", Shard{}, "want I/N"},
		{"1/", Shard{}, "want I/N"},
		{"1/3/4", Shard{}, "want I/N"},
		{" 1/3", Shard{}, "want I/N"},
		{"", Shard{}, "want I/N"},
	} {
		got, err := ParseShard(tc.in)
		switch {
		case tc.err == "" && (err != nil || got != tc.want):
			t.Errorf("ParseShard(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseShard(%q): error %v, want one containing %q", tc.in, err, tc.err)
		}
	}
}

// shardTable returns a table in memory that holds shard s of a table of n
// rows, with metadata as extract writes it.
func shardTable(name string, s Shard, n int) *Table {
	md := map[string]string{MetaSplit: "train"}
	s.SetMetadata(md, n)
	lo, hi := s.Rows(n)
	return &Table{Name: name, Dim: 1, Label: make([]uint8, hi-lo), Metadata: md}
}

func TestCheckShards(t *testing.T) {
	s := func(i, n int) *Table { return shardTable(Shard{i, n}.String(), Shard{i, n}, 100) }
	plain := &Table{Name: "plain", Dim: 1, Label: make([]uint8, 100), Metadata: map[string]string{}}
	cut := s(1, 3)
	cut.Label = cut.Label[1:]
	forged := s(1, 3)
	forged.Metadata[MetaShardRows] = "30:66"
	for _, tc := range []struct {
		name   string
		tables []*Table
		want   string // "": accepted
	}{
		{"whole, one shard", []*Table{s(0, 1)}, ""},
		{"whole, three shards", []*Table{s(0, 3), s(1, 3), s(2, 3)}, ""},
		{"no shards", []*Table{plain, plain}, ""},
		{"one missing", []*Table{s(0, 3), s(2, 3)}, "shard 1/3 missing: 2 of the 3 shards given"},
		{"last missing", []*Table{s(0, 3), s(1, 3)}, "shard 2/3 missing"},
		{"alone", []*Table{s(1, 3)}, "shards 0/3, 2/3 missing: 1 of the 3 shards given"},
		{"given twice", []*Table{s(0, 2), s(1, 2), s(1, 2)}, "1/2 given twice (shard 1/2)"},
		{"a copy", []*Table{s(0, 2), s(1, 2), shardTable("copy", Shard{1, 2}, 100)}, "copy is shard 1/2 again (as 1/2)"},
		{"out of order", []*Table{s(1, 2), s(0, 2)}, "shards out of order: 1/2 is shard 1/2 but comes in place 0; give them in order 0 to 1"},
		{"counts differ", []*Table{s(0, 2), s(1, 3)}, "1/3 is shard 1/3, but 0/2 is shard 0/2: different shard counts"},
		{"tables differ", []*Table{s(0, 2), shardTable("other", Shard{1, 2}, 90)}, "other is a shard of a table of 90 rows, but 0/2 of one of 100"},
		{"a shard and a plain table", []*Table{s(0, 2), plain}, "0/2 is shard 0/2, but plain is no shard"},
		{"rows missing", []*Table{s(0, 3), cut, s(2, 3)}, "1/3: 32 rows, but shard 1/3 of 100 rows holds 33 (rows 33:66)"},
		{"range not the split's", []*Table{s(0, 3), forged, s(2, 3)}, `1/3: metadata shard_rows "30:66": shard 1/3 of 100 rows holds rows 33:66`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckShards(tc.tables)
			if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}
