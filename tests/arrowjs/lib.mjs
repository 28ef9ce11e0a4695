// Shared by the table checks: reads the Arrow file named on the command
// line and the expectations passed as JSON, collects problems, and reports.
import { readFileSync } from "node:fs";
import { tableFromIPC } from "apache-arrow";

export const [path, want] = [process.argv[2], JSON.parse(process.argv[3] ?? "{}")];
export const table = tableFromIPC(readFileSync(path));
const problems = [];
export const check = (ok, what) => { if (!ok) problems.push(what); };
export const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// finish prints one line and exits 0 when every check held, 1 otherwise.
export function finish(summary) {
  if (problems.length) {
    console.error(`${path}: ${problems.join("; ")}`);
    process.exit(1);
  }
  console.log(`${path}: apache-arrow read ${summary}; schema and values as expected`);
}
