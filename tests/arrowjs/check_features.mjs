// Reads a feature table with Apache Arrow JS and checks it against the
// contract in pkg/features and against expectations passed as JSON:
//
//   node check_features.mjs FEATS.arrow '{"rows":3,"dim":512,"split":"test","index":[0,1,2],"label":[3,8,8],"feature0":[0.5,-1]}'
//
// feature0 is the first values of row 0's feature. Prints one line and
// exits 0 when all holds, 1 otherwise.
import { Type } from "apache-arrow";
import { want, table, check, same, finish } from "./lib.mjs";

const { fields, metadata } = table.schema;
check(same(fields.map((f) => f.name), ["index", "label", "feature"]), `columns ${fields.map((f) => f.name)}`);
const [index, label, feature] = fields;
check(index.type.typeId === Type.Int && index.type.bitWidth === 32 && index.type.isSigned, `index type ${index.type}`);
check(label.type.typeId === Type.Int && label.type.bitWidth === 8 && !label.type.isSigned, `label type ${label.type}`);
check(feature.type.typeId === Type.FixedSizeList && feature.type.listSize === want.dim, `feature type ${feature.type}`);
check(feature.type.children[0].type.typeId === Type.Float, `feature item type ${feature.type.children[0].type}`);
for (const key of ["producer", "split", "checkpoint", "stem", "class_names"]) check(metadata.has(key), `metadata ${key} missing`);
if (want.split !== undefined) check(metadata.get("split") === want.split, `split ${metadata.get("split")}`);
check(table.numRows === want.rows, `${table.numRows} rows, want ${want.rows}`);
const n = (want.index ?? []).length;
check(same(Array.from(table.getChild("index").toArray()).slice(0, n), want.index ?? []), "index values");
check(same(Array.from(table.getChild("label").toArray()).slice(0, n), want.label ?? []), "label values");
const f0 = Array.from(table.getChild("feature").get(0).toArray());
check(f0.length === want.dim, `feature 0 has ${f0.length} values`);
check(same(f0.slice(0, (want.feature0 ?? []).length), want.feature0 ?? []), `feature 0 starts ${f0.slice(0, 4)}`);

finish(`${table.numRows} rows of ${want.dim}-d features`);
