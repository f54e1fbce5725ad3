// Bundles src/extension.js and vscode-languageclient into dist/extension.js,
// one CommonJS file for VS Code's extension host: the .vsix then needs no
// node_modules (scripts/vscode-build packages it with --no-dependencies).
import { build } from "esbuild";
import { readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
rmSync(dist, { recursive: true, force: true });

const result = await build({
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
  legalComments: "none",
  metafile: true,
  logLevel: "info",
});

// The licences of the npm packages inside the bundle (MIT, ISC, ...), which
// ask that their notices travel with the code: dist/THIRD_PARTY_NOTICES.txt.
const packages = new Map();
for (const input of Object.keys(result.metafile.inputs)) {
  const m = input.match(/^(.*node_modules\/((?:@[^/]+\/)?[^/]+))\//);
  if (m) packages.set(m[2], join(here, m[1]));
}
const notices = [...packages]
  .sort(([a], [b]) => a.localeCompare(b))
  .map(([name, dir]) => {
    const { version, license } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    const file = readdirSync(dir).find((f) => /^licen[cs]e/i.test(f));
    if (!file) throw new Error(`${name} has no licence file to ship with the bundle`);
    return `${name} ${version} (${license})\n\n${readFileSync(join(dir, file), "utf8").trim()}\n`;
  });
writeFileSync(
  join(dist, "THIRD_PARTY_NOTICES.txt"),
  "dist/extension.js bundles these npm packages:\n\n" + notices.join("\n" + "-".repeat(78) + "\n\n"),
);
