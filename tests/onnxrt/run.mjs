// Runs an ONNX encoder with ONNX Runtime's CPU build, for the Go tests.
//
//	node run.mjs MODEL INPUT N OUTPUT
//
// INPUT holds N images as little-endian float32 [N][3][32][32]. The model
// runs on the whole batch and then on the first image alone (a batch of
// another size, so the batch dimension must be dynamic); OUTPUT receives
// both results back to back as little-endian float32. One JSON line on
// stdout says what the session reported: names, types and shapes of the
// inputs and outputs, and the dims of each result.
import { readFileSync, writeFileSync } from "node:fs";
import ort from "onnxruntime-node";

const [model, input, nArg, output] = process.argv.slice(2);
const n = Number(nArg);
const buf = readFileSync(input);
const x = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
const image = 3 * 32 * 32;
if (!(n >= 1) || x.length !== n * image) {
  console.error(`${input}: ${x.length} floats, want ${n} images of ${image}`);
  process.exit(1);
}

const session = await ort.InferenceSession.create(model, { executionProviders: ["cpu"] });
const meta = (ms) => ms.map((m) => ({ name: m.name, type: m.type, shape: m.shape }));
const [inName] = session.inputNames;
const [outName] = session.outputNames;
const results = [];
for (const [data, batch] of [[x, n], [x.subarray(0, image), 1]]) {
  const out = await session.run({ [inName]: new ort.Tensor("float32", data, [batch, 3, 32, 32]) });
  results.push(out[outName]);
}
const all = new Float32Array(results.reduce((s, t) => s + t.data.length, 0));
let at = 0;
for (const t of results) {
  all.set(t.data, at);
  at += t.data.length;
}
writeFileSync(output, Buffer.from(all.buffer));
console.log(JSON.stringify({
  inputs: meta(session.inputMetadata),
  outputs: meta(session.outputMetadata),
  dims: results.map((t) => t.dims),
}));
