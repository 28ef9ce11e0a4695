// Reads an image table with Apache Arrow JS and checks it against the
// contract in pkg/arrowio and against expectations passed as JSON:
//
//   node check.mjs TABLE.arrow '{"rows":10000,"split":"test","labels":[3,8,8],"image0":[158,159,165]}'
//
// labels are the first labels; image0 the first bytes of image 0 (CHW);
// tensor true wants the image column marked as arrow.fixed_shape_tensor
// (cifar-fetch --tensor-extension), otherwise its shape in field metadata.
// Prints one line and exits 0 when all holds, 1 otherwise.
import { Type } from "apache-arrow";
import { want, table, check, same, finish } from "./lib.mjs";

const { fields, metadata } = table.schema;

check(same(fields.map((f) => f.name), ["index", "label", "image"]), `columns ${fields.map((f) => f.name)}`);
const [index, label, image] = fields;
check(index.type.typeId === Type.Int && index.type.bitWidth === 32 && index.type.isSigned, `index type ${index.type}`);
check(label.type.typeId === Type.Int && label.type.bitWidth === 8 && !label.type.isSigned, `label type ${label.type}`);
check(image.type.typeId === Type.FixedSizeList && image.type.listSize === 3072, `image type ${image.type}`);
const item = image.type.children[0].type;
check(item.typeId === Type.Int && item.bitWidth === 8 && !item.isSigned, `image item type ${item}`);

if (want.tensor) {
  check(image.metadata.get("ARROW:extension:name") === "arrow.fixed_shape_tensor", "image extension name");
  const tensor = JSON.parse(image.metadata.get("ARROW:extension:metadata") ?? "{}");
  check(same(tensor.shape, [3, 32, 32]), `tensor shape ${tensor.shape}`);
  check(same(tensor.dim_names, ["C", "H", "W"]), `tensor dim_names ${tensor.dim_names}`);
} else {
  check(!image.metadata.has("ARROW:extension:name"), "image column has an extension type");
  check(image.metadata.get("shape") === "[3,32,32]", `image field shape ${image.metadata.get("shape")}`);
  check(image.metadata.get("dim_names") === '["C","H","W"]', `image field dim_names ${image.metadata.get("dim_names")}`);
}
check(metadata.get("image_shape") === "[3,32,32]", `image_shape ${metadata.get("image_shape")}`);
check(metadata.get("image_dim_names") === '["C","H","W"]', `image_dim_names ${metadata.get("image_dim_names")}`);

const classes = JSON.parse(metadata.get("class_names") ?? "[]");
check(classes.length === 10 && classes[0] === "airplane" && classes[9] === "truck", `class_names ${classes}`);
for (const key of ["split", "source", "source_sha256", "producer"]) check(metadata.has(key), `metadata ${key} missing`);
if (want.split !== undefined) check(metadata.get("split") === want.split, `split ${metadata.get("split")}`);

if (want.rows !== undefined) check(table.numRows === want.rows, `${table.numRows} rows, want ${want.rows}`);
const idx = table.getChild("index").toArray();
check(idx.every((v, i) => v === i), "index is not 0, 1, 2, ...");
const labels = Array.from(table.getChild("label").toArray());
check(labels.every((l) => l <= 9), "a label above 9");
if (want.labels) check(same(labels.slice(0, want.labels.length), want.labels), `first labels ${labels.slice(0, want.labels.length)}`);
const img0 = table.getChild("image").get(0).toArray();
check(img0.length === 3072, `image 0 has ${img0.length} bytes`);
if (want.image0) check(same(Array.from(img0.slice(0, want.image0.length)), want.image0), `image 0 starts ${img0.slice(0, want.image0.length)}`);

finish(`${table.numRows} rows in ${table.batches.length} batches`);
