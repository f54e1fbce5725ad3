// Bundles the playground into web-playground/dist: index.html, app.js,
// app.css and the shim's wasm. Every asset is local (no CDN) and every URL
// relative, so the site works offline and under any sub-path
// (`layak serve` mounts it at /playground). The shipped rules, region
// tables and sample households are embedded from rules/ at build time.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..", "..");
const pkg = join(here, "..", "pkg");
const dist = join(here, "..", "dist");

function shipped() {
  const rulesDir = join(repo, "rules");
  const read = (dir, ext, prefix) =>
    Object.fromEntries(
      readdirSync(dir)
        .filter((f) => f.endsWith(ext))
        .sort()
        .map((f) => [`${prefix}/${f}`, readFileSync(join(dir, f), "utf8")]),
    );
  return {
    rules: read(rulesDir, ".lyk", "rules"),
    tables: read(join(rulesDir, "tables"), ".txt", "rules/tables"),
    samples: readFileSync(join(rulesDir, "tests", "samples.ndjson"), "utf8"),
  };
}

const shippedPlugin = {
  name: "shipped",
  setup(b) {
    b.onResolve({ filter: /^virtual:shipped$/ }, () => ({ path: "shipped", namespace: "shipped" }));
    b.onLoad({ filter: /.*/, namespace: "shipped" }, () => ({
      contents: `export const shipped = ${JSON.stringify(shipped())};`,
      loader: "js",
    }));
  },
};

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
await build({
  entryPoints: { app: join(here, "src", "main.js") },
  bundle: true,
  format: "esm",
  target: "chrome110",
  minify: true,
  sourcemap: "linked",
  outdir: dist,
  plugins: [shippedPlugin],
  logLevel: "warning",
});
await build({
  entryPoints: { app: join(here, "src", "style.css") },
  bundle: true,
  minify: true,
  outdir: dist,
  logLevel: "warning",
});
copyFileSync(join(here, "src", "index.html"), join(dist, "index.html"));
copyFileSync(join(pkg, "layak_playground_bg.wasm"), join(dist, "layak_playground_bg.wasm"));
console.log(`playground built in ${dist}`);
