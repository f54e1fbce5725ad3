// Bundles src/extension.js and vscode-languageclient into dist/extension.js,
// one CommonJS file for VS Code's extension host: the .vsix then needs no
// node_modules (scripts/vscode-build packages it with --no-dependencies).
import { build } from "esbuild";
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
rmSync(dist, { recursive: true, force: true });

await build({
  entryPoints: [join(here, "src", "extension.js")],
  outfile: join(dist, "extension.js"),
  bundle: true,
  platform: "node",
  format: "cjs",
  // VS Code 1.91 (engines.vscode) runs extensions on Node 20.
  target: "node20",
  // Provided by the extension host at run time.
  external: ["vscode"],
  minify: true,
  sourcemap: false,
  legalComments: "linked",
  logLevel: "info",
});
