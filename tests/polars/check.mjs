// Reads a table the tools write (image table, augment's view stream, feature
// table) with nodejs-polars, and checks it against expectations passed as JSON:
//
//   node check.mjs TABLE.arrow '{"columns":[["index","Int32"],["label","UInt8"],["image","FixedSizeList(UInt8,3072)"]],
//                               "rows":100,"labels":[3,8],"list":"image","first":[158,159],"ints":{"view":[0,1]}}'
//
// columns lists each column, in order, with its Polars dtype; labels are the
// first labels; list names the fixed-size-list column whose row 0 starts
// with first; ints the first values of other integer columns. Arrow IPC
// files and streams are both read, from a Buffer (readIPC takes a string
// not ending in .ipc as inline data). Prints one line and exits 0 when all
// holds, 1 otherwise.
import { readFileSync } from "node:fs";
import pl from "nodejs-polars";

const [path, want] = [process.argv[2], JSON.parse(process.argv[3] ?? "{}")];
const problems = [];
const check = (ok, what) => { if (!ok) problems.push(what); };
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

const data = readFileSync(path);
const isFile = data.subarray(0, 6).toString("latin1") === "ARROW1";
const df = isFile ? pl.readIPC(data) : pl.readIPCStream(data);

// DataType(FixedSizeList(DataType(UInt8),3072)) -> FixedSizeList(UInt8,3072)
const dtype = (s) => String(s.dtype).replace(/DataType\(([^()]*)\)/g, "$1").replace(/^DataType\((.*)\)$/, "$1");
const cols = df.columns;
const names = want.columns.map(([name]) => name);
check(same(cols, names), `columns ${cols}, want ${names}`);
for (const [name, t] of want.columns) {
  if (cols.includes(name)) check(dtype(df.getColumn(name)) === t, `column ${name}: dtype ${dtype(df.getColumn(name))}, want ${t}`);
}
check(df.height === want.rows, `${df.height} rows, want ${want.rows}`);

const head = (name, n) => Array.from(df.getColumn(name).head(n).toArray());
const idx = head("index", df.height);
if (want.sequentialIndex) check(idx.every((v, i) => v === i), "index is not 0, 1, 2, ...");
if (want.labels) check(same(head("label", want.labels.length), want.labels), `first labels ${head("label", want.labels.length)}`);
for (const [name, vals] of Object.entries(want.ints ?? {})) {
  check(same(head(name, vals.length), vals), `first ${name} values ${head(name, vals.length)}, want ${vals}`);
}
if (want.list) {
  // The whole column as one flat series: N rows of the list's size, row
  // after row, as an (N, 3, 32, 32) or (N, D) array wants them.
  const flat = df.select(pl.col(want.list).explode()).getColumn(want.list);
  const size = Number(/,(\d+)\)$/.exec(dtype(df.getColumn(want.list)))?.[1]);
  check(flat.length === df.height * size, `${want.list} flattens to ${flat.length} values, want ${df.height} x ${size}`);
  const row0 = Array.from(flat.head(want.first.length).toArray());
  const close = row0.every((v, i) => Math.abs(v - want.first[i]) <= 1e-6 * Math.max(1, Math.abs(want.first[i])));
  check(close, `${want.list} row 0 starts ${row0}, want ${want.first}`);
}

if (problems.length) {
  console.error(`${path}: ${problems.join("; ")}`);
  process.exit(1);
}
console.log(`${path}: nodejs-polars read ${df.height} rows of ${cols.join(", ")} (${isFile ? "IPC file" : "IPC stream"}); dtypes and values as expected`);
