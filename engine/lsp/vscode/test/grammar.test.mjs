// The extension's TextMate grammar against the language as the compiler
// reads it, and the packaged .vsix against what VS Code needs.
//
// The grammar is checked with the tokenizer VS Code itself uses
// (vscode-textmate over vscode-oniguruma) on every shipped rule file and on
// the dsl test corpus that parses: every keyword of the pest grammar gets a
// keyword scope where it starts a clause (and a field named like one does
// not), every built-in function of the checker is highlighted as one, no
// code is left without a scope, and every block the grammar opens is closed
// at the end of each file. The .vsix must be built first
// (scripts/vscode-build).
//
// Run: node test/grammar.test.mjs   (npm test)
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { inflateRawSync } from "node:zlib";

import oniguruma from "vscode-oniguruma";
import textmate from "vscode-textmate";

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const ext = join(here, "..");
const repo = join(ext, "..", "..", "..");
const pkg = JSON.parse(readFileSync(join(ext, "package.json"), "utf8"));

// ---- the language, from the compiler's own sources -------------------------

const pest = readFileSync(join(repo, "dsl", "src", "syntax", "layak.pest"), "utf8");
/** Every word the pest grammar spells as a literal: its keywords. */
const PEST_WORDS = [
  ...new Set(
    [...pest.replace(/\/\/.*$/gm, "").matchAll(/"([A-Za-z]+)"/g)].map((m) => m[1]),
  ),
].sort();
/** The reserved words (`keyword` in the pest grammar): never a name. */
const RESERVED = [...(pest.match(/^keyword\s*=\s*_\{([^}]*)\}/m)?.[1] ?? "").matchAll(/"([a-z]+)"/g)].map(
  (m) => m[1],
);
/** The scope each pest word must get: types and literals are not keywords. */
function expectedScope(word) {
  if (word === "list" || word === "int") return "support.type";
  if (word === "true" || word === "false") return "constant.language";
  return "keyword";
}

/** A Rust `const NAME: &[&str] = &[...]` list from the checker. */
function rustList(file, name) {
  const text = readFileSync(join(repo, "dsl", "src", "check", file), "utf8");
  const m = text.match(new RegExp(`const ${name}: &\\[&str\\] = &\\[([^\\]]*)\\]`));
  assert.ok(m, `${name} not found in dsl/src/check/${file}`);
  return [...m[1].matchAll(/"([a-z_]+)"/g)].map((x) => x[1]);
}
const BUILTINS = [
  ...new Set([...rustList("scope.rs", "BUILTIN_FUNCTIONS"), ...rustList("call.rs", "AGGREGATES")]),
];
const BUILTIN_TYPES = rustList("scope.rs", "BUILTIN_TYPES");

// ---- the tokenizer ------------------------------------------------------------

const wasm = readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm"));
await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
const grammarPath = join(ext, "syntaxes", "layak.tmLanguage.json");
const registry = new textmate.Registry({
  onigLib: Promise.resolve({
    createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
    createOnigString: (s) => new oniguruma.OnigString(s),
  }),
  loadGrammar: async (scope) =>
    scope === "source.layak"
      ? textmate.parseRawGrammar(readFileSync(grammarPath, "utf8"), grammarPath)
      : null,
});
const grammar = await registry.loadGrammar("source.layak");
assert.ok(grammar, "the grammar did not load");

/**
 * Tokenizes a file: per line, its text and the scopes of each character,
 * and the depth of the grammar's state at the end (1: every block closed).
 */
function tokenize(text) {
  let stack = textmate.INITIAL;
  const lines = text.split(/\r?\n/).map((line) => {
    const r = grammar.tokenizeLine(line, stack);
    stack = r.ruleStack;
    const scopes = new Array(line.length);
    for (const t of r.tokens) {
      for (let i = t.startIndex; i < Math.min(t.endIndex, line.length); i++) scopes[i] = t.scopes;
    }
    return { line, scopes, tokens: r.tokens };
  });
  return { lines, depth: stack.depth };
}

const has = (scopes, prefix) => scopes.some((s) => s === prefix || s.startsWith(prefix + "."));
/** Code, not a comment or the text of a string (a message hole is code). */
function isCode(scopes) {
  if (has(scopes, "comment")) return false;
  const str = scopes.findLastIndex((s) => s.startsWith("string."));
  const hole = scopes.findLastIndex((s) => s.startsWith("meta.embedded."));
  return str < 0 || hole > str;
}
/** A scope that says what the text is (not only the block it is in). */
const meaningful = (scopes) => scopes.slice(1).some((s) => !s.startsWith("meta."));

/**
 * Asserts that every character of the first occurrence of `needle` at or
 * after `from` on a line has a scope starting with `prefix`.
 */
function expectScope(line, needle, prefix, from = 0) {
  const at = line.line.indexOf(needle, from);
  assert.ok(at >= 0, `\`${needle}\` not on the line \`${line.line}\``);
  for (let i = at; i < at + needle.length; i++) {
    const scopes = line.scopes[i] ?? [];
    assert.ok(
      scopes.some((s) => s.startsWith(prefix)),
      `\`${needle}\` on \`${line.line.trim()}\` has ${scopes.join(" ")} at column ${i + 1}, not ${prefix}`,
    );
  }
}

function lykFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...lykFiles(full));
    else if (name.endsWith(".lyk")) out.push(full);
  }
  return out;
}
const shipped = readdirSync(join(repo, "rules"))
  .filter((f) => f.endsWith(".lyk"))
  .sort()
  .map((f) => join(repo, "rules", f));
// The corpus files the parser accepts: the formatter's messy inputs, and
// the diagnostics corpus but for its deliberate syntax errors (`syntax_*`).
const corpus = ["eval", "fmt", "diagnostics"]
  .flatMap((d) => lykFiles(join(repo, "dsl", "tests", "corpus", d)))
  .filter((f) => !/(^|\/)syntax_[^/]*$/.test(f));
const tokenized = new Map(
  [...shipped, ...corpus].map((f) => [f, tokenize(readFileSync(f, "utf8"))]),
);
const rel = (f) => relative(repo, f);
const pkh = tokenized.get(join(repo, "rules", "pkh.lyk"));
const schema = tokenized.get(join(repo, "rules", "schema.lyk"));
const lineOf = (file, needle) => {
  const found = file.lines.find((l) => l.line.includes(needle));
  assert.ok(found, `no line with \`${needle}\``);
  return found;
};

// ---- the grammar ----------------------------------------------------------------

test("the pest grammar's words and the checker's built-ins are read", () => {
  for (const w of ["import", "record", "criterion", "message", "source", "Rp", "not", "in"]) {
    assert.ok(PEST_WORDS.includes(w), `\`${w}\` not among ${PEST_WORDS.join(" ")}`);
  }
  assert.ok(RESERVED.includes("where") && !RESERVED.includes("source"), RESERVED.join(" "));
  assert.ok(BUILTINS.includes("years_between") && BUILTINS.includes("sum_top"), BUILTINS.join(" "));
  assert.ok(BUILTIN_TYPES.includes("money"), BUILTIN_TYPES.join(" "));
});

test("every file closes every block the grammar opens", () => {
  assert.ok(shipped.length >= 8, `only ${shipped.length} shipped rule files`);
  assert.ok(corpus.length >= 50, `only ${corpus.length} corpus files`);
  for (const [file, { depth }] of tokenized) {
    assert.equal(depth, 1, `${rel(file)} ends inside a block of the grammar (state depth ${depth})`);
  }
});

test("no code is left without a scope, nothing shipped is marked invalid", () => {
  // The check itself: a character the language does not know has no scope.
  const stray = tokenize("def f(x: int): bool = x > 1 & x < 5").lines[0];
  assert.equal(meaningful(stray.scopes[stray.line.indexOf("&")]), false);
  const problems = [];
  for (const [file, { lines }] of tokenized) {
    lines.forEach(({ line, tokens }, n) => {
      for (const t of tokens) {
        const text = line.slice(t.startIndex, t.endIndex);
        if (!text.trim()) continue;
        if (!meaningful(t.scopes)) {
          problems.push(`${rel(file)}:${n + 1}:${t.startIndex + 1}: \`${text}\` has no scope (${t.scopes.join(" ")})`);
        }
        if (t.scopes.some((s) => s.startsWith("invalid."))) {
          problems.push(`${rel(file)}:${n + 1}:${t.startIndex + 1}: \`${text}\` is marked invalid`);
        }
      }
    });
  }
  assert.deepEqual(problems, []);
});

test("every keyword of the pest grammar in the rules gets its scope, and a field named like one does not", (t) => {
  const problems = [];
  const seen = new Set();
  let checked = 0;
  let fields = 0;
  for (const [file, { lines }] of tokenized) {
    lines.forEach(({ line, scopes }, n) => {
      for (const m of line.matchAll(/[A-Za-z_][A-Za-z0-9_]*/g)) {
        const word = m[0];
        if (!PEST_WORDS.includes(word)) continue;
        const at = m.index;
        const s = scopes[at];
        if (!s || !isCode(s)) continue;
        const where = `${rel(file)}:${n + 1}:${at + 1}`;
        for (let i = at; i < at + word.length; i++) {
          if (scopes[i] !== s) problems.push(`${where}: \`${word}\` is split into tokens`);
        }
        // A word that is not reserved may be a name where no clause starts:
        // a field (after `.`, or declared with `name:`), a parameter
        // (`name:`), or a definition (`def label(...)`, `label(m)`; a clause
        // is written with a space: `require (a or b)`).
        const after = line.slice(at + word.length);
        const isName =
          !RESERVED.includes(word) &&
          expectedScope(word) === "keyword" &&
          (/\.\s*$/.test(line.slice(0, at)) || /^(\s*:(?!:)|\()/.test(after));
        if (isName) {
          fields++;
          const ok = ["variable.other.property", "variable.parameter", "entity.name.function"];
          if (has(s, "keyword") || !ok.some((x) => has(s, x) || s.some((y) => y.startsWith(x + ".")))) {
            problems.push(`${where}: the name \`${word}\` has ${s.join(" ")}, not a name's scope`);
          }
          continue;
        }
        checked++;
        const want = expectedScope(word);
        if (!has(s, want) && !s.some((x) => x.startsWith(want + "."))) {
          problems.push(`${where}: \`${word}\` has ${s.join(" ")}, not ${want}`);
        } else {
          seen.add(word);
        }
      }
    });
  }
  assert.deepEqual(problems, []);
  // Every pest word is used somewhere in the rules and the corpus, so each
  // one was checked at least once; a new keyword needs a use there.
  assert.deepEqual(
    PEST_WORDS.filter((w) => !seen.has(w)),
    [],
    "pest words never seen with their scope in rules/ or the corpus",
  );
  t.diagnostic(`${checked} keywords and ${fields} names like keywords in ${tokenized.size} files`);
  // `source: Source?` in rules/schema.lyk, `def label(...)` in the corpus.
  assert.ok(checked > 500 && fields >= 3, `${checked} keywords, ${fields} names checked`);
});

test("literals, comments and strings on known lines of rules/pkh.lyk", () => {
  const entry = lineOf(pkh, 'Rp 3_000_000 from 2025-01-01 source "Kepdirjen');
  expectScope(entry, "Rp", "keyword.other.unit.currency");
  expectScope(entry, "3_000_000", "constant.numeric.money");
  expectScope(entry, "from", "keyword");
  expectScope(entry, "2025-01-01", "constant.numeric.date");
  expectScope(entry, "source", "keyword");
  expectScope(entry, "Kepdirjen Linjamsos", "string.quoted.double");
  expectScope(entry, '"', "punctuation.definition.string.begin");

  expectScope(pkh.lines[0], "// Program Keluarga Harapan", "comment.line.double-slash");
  expectScope(lineOf(pkh, "  70 from 2021-01-01"), "70", "constant.numeric.integer");

  const param = lineOf(pkh, "param PKH_PREGNANT: money {");
  expectScope(param, "param", "keyword");
  expectScope(param, "PKH_PREGNANT", "variable.other.constant");
  expectScope(param, "money", "support.type.primitive");

  const def = lineOf(pkh, "def pkh_component(m: Member): money =");
  expectScope(def, "def", "keyword");
  expectScope(def, "pkh_component", "entity.name.function");
  expectScope(def, "m", "variable.parameter", def.line.indexOf("("));
  expectScope(def, "Member", "entity.name.type");

  const sex = lineOf(pkh, "m.sex == Sex.F");
  expectScope(sex, "pregnant", "entity.name.function.call");
  expectScope(sex, "and", "keyword.operator");
  expectScope(sex, "sex", "variable.other.property");
  expectScope(sex, "==", "keyword.operator.comparison");
  expectScope(sex, "Sex", "entity.name.type.enum");
  expectScope(sex, "F", "variable.other.enummember", sex.line.indexOf("Sex."));
  expectScope(sex, "PKH_PREGNANT", "variable.other.constant");
  expectScope(sex, "if", "keyword.control");
  expectScope(sex, "Rp 0", "constant.numeric.money");

  const msg = lineOf(pkh, 'message en "the family\'s desil is {family.desil}');
  expectScope(msg, "message", "keyword");
  expectScope(msg, "en", "entity.other.attribute-name");
  expectScope(msg, "the family's desil is ", "string.quoted.double");
  expectScope(msg, "{", "punctuation.section.embedded.begin");
  expectScope(msg, "family", "meta.embedded", msg.line.indexOf("{"));
  expectScope(msg, "desil", "variable.other.property", msg.line.indexOf("{"));
  expectScope(msg, "}", "punctuation.section.embedded.end");

  const hole = lineOf(pkh, 'message en "{count(m in living_members(family) where asn(m))}');
  expectScope(hole, "count", "support.function.builtin");
  expectScope(hole, "in", "keyword.operator");
  expectScope(hole, "where", "keyword");
  expectScope(hole, "living_members", "entity.name.function.call");

  const benefit = lineOf(pkh, "benefit sum_top(PKH_MAX_COMPONENTS");
  expectScope(benefit, "benefit", "keyword");
  expectScope(benefit, "sum_top", "support.function.builtin");
  expectScope(benefit, "per", "keyword");
  expectScope(benefit, "year", "constant.other.period");

  const clauses = ["stage determination", "programme PKH", "for each family", "criterion DESIL {"];
  for (const c of clauses) expectScope(lineOf(pkh, c), c.split(" ")[0], "keyword");
  expectScope(lineOf(pkh, "criterion DESIL {"), "DESIL", "entity.name.function.criterion");
});

test("declarations in rules/schema.lyk: a field named like a keyword is a field", () => {
  const source = lineOf(schema, "  source: Source?");
  expectScope(source, "source", "variable.other.property");
  expectScope(source, "Source", "entity.name.type");
  expectScope(source, "?", "keyword.operator.optional");
  const member = lineOf(schema, "record Member key nik label name {");
  expectScope(member, "record", "keyword");
  expectScope(member, "Member", "entity.name.type");
  expectScope(member, "key", "keyword");
  expectScope(member, "label", "keyword");
  expectScope(member, "name", "variable.other.property");
  const desil = lineOf(schema, "desil: int(1..10)?");
  expectScope(desil, "int", "support.type.primitive");
  expectScope(desil, "1", "constant.numeric.integer");
  expectScope(desil, "..", "keyword.operator.range");
  expectScope(lineOf(schema, "assets: ignored"), "ignored", "keyword");
  expectScope(lineOf(schema, "families: list<Family>"), "list", "support.type.primitive");
  const variant = lineOf(schema, "lives_here = 1,");
  expectScope(variant, "lives_here", "variable.other.enummember");
  const subject = lineOf(schema, "subject family: Family in household.families");
  expectScope(subject, "subject", "keyword");
  expectScope(subject, "family", "variable.other.subject");
  expectScope(subject, "in", "keyword");
  expectScope(subject, "families", "variable.other.property");
});

test("every built-in function of the checker is highlighted as one", () => {
  for (const name of BUILTINS) {
    const { lines } = tokenize(`def f(x: int): int =\n  ${name}(x)`);
    expectScope(lines[1], name, "support.function.builtin");
  }
  for (const name of BUILTIN_TYPES) {
    const { lines } = tokenize(`record R {\n  a: ${name}${name === "list" ? "<int>" : ""}\n}`);
    expectScope(lines[1], name, "support.type.primitive");
  }
});

test("escapes and holes in a message; plain strings have no holes", () => {
  const src = [
    "ruleset r {",
    "  criterion C warning {",
    "    require x not in [1, 2]",
    "    on missing pass",
    "    reason WHY",
    '    message en "a \\{b\\} {x + 1} \\"q\\" \\n \\q"',
    "  }",
    "}",
    'table T = "a {b} \\t"',
    "def g(x: int): int = match x { _ => 0 }",
  ].join("\n");
  const { lines, depth } = tokenize(src);
  assert.equal(depth, 1);
  const msg = lines[5];
  expectScope(msg, "\\{", "constant.character.escape");
  expectScope(msg, "\\}", "constant.character.escape");
  expectScope(msg, "b", "string.quoted.double", msg.line.indexOf("\\{"));
  expectScope(msg, "+", "keyword.operator.arithmetic");
  expectScope(msg, '\\"', "constant.character.escape");
  expectScope(msg, "\\n", "constant.character.escape");
  expectScope(msg, "\\q", "invalid.illegal");
  expectScope(lines[2], "not", "keyword.operator");
  expectScope(lines[2], "in", "keyword.operator", lines[2].line.indexOf("not"));
  expectScope(lines[3], "on", "keyword");
  expectScope(lines[3], "missing", "keyword");
  expectScope(lines[3], "pass", "constant.other");
  expectScope(lines[4], "WHY", "constant.other.reason");
  expectScope(lines[1], "warning", "keyword");
  const table = lines[8];
  expectScope(table, "table", "keyword");
  expectScope(table, "T", "variable.other.constant");
  expectScope(table, "{b}", "string.quoted.double");
  expectScope(table, "\\t", "constant.character.escape");
  expectScope(lines[9], "match", "keyword.control");
  expectScope(lines[9], "_", "variable.language.wildcard");
  expectScope(lines[9], "=>", "keyword.operator");
});

test("an unclosed string or hole ends with its line", () => {
  const { lines, depth } = tokenize(
    ['ruleset r {', '  criterion C {', '    message id "open {x', '    require y', "  }", "}"].join("\n"),
  );
  assert.equal(depth, 1);
  expectScope(lines[3], "require", "keyword");
});

// ---- the package -------------------------------------------------------------------

/** The entries of a zip archive (its central directory), with a reader. */
function readZip(buf) {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  assert.ok(eocd >= 0, "not a zip archive: no end of central directory");
  const count = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  const entries = new Map();
  for (let n = 0; n < count; n++) {
    assert.equal(buf.readUInt32LE(at), 0x02014b50, "a broken central directory");
    const method = buf.readUInt16LE(at + 10);
    const size = buf.readUInt32LE(at + 20);
    const nameLen = buf.readUInt16LE(at + 28);
    const extraLen = buf.readUInt16LE(at + 30);
    const commentLen = buf.readUInt16LE(at + 32);
    const local = buf.readUInt32LE(at + 42);
    const name = buf.toString("utf8", at + 46, at + 46 + nameLen);
    entries.set(name, () => {
      const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
      const data = buf.subarray(start, start + size);
      return method === 8 ? inflateRawSync(data) : data;
    });
    at += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

test("the .vsix holds the manifest, the bundled client and its notices, the grammar and the language configuration", () => {
  const vsix = join(repo, "target", "vscode", `layak-${pkg.version}.vsix`);
  let buf;
  try {
    buf = readFileSync(vsix);
  } catch {
    assert.fail(`${rel(vsix)} is missing: build it with ./scripts/vscode-build`);
  }
  const zip = readZip(buf);
  for (const name of [
    "extension.vsixmanifest",
    "extension/package.json",
    "extension/dist/extension.js",
    "extension/dist/THIRD_PARTY_NOTICES.txt",
    "extension/syntaxes/layak.tmLanguage.json",
    "extension/language-configuration.json",
    "extension/readme.md",
  ]) {
    assert.ok(zip.has(name), `${name} not in the .vsix: ${[...zip.keys()].join(", ")}`);
  }
  for (const name of zip.keys()) {
    assert.ok(
      !/^extension\/(node_modules|src|test)\//.test(name) && !name.endsWith("build.mjs"),
      `${name} should not be packaged (.vscodeignore)`,
    );
  }
  const manifest = JSON.parse(zip.get("extension/package.json")().toString("utf8"));
  assert.equal(manifest.name, pkg.name);
  assert.equal(manifest.version, pkg.version);
  assert.equal(manifest.main, "./dist/extension.js");
  const lang = manifest.contributes.languages.find((l) => l.id === "layak");
  assert.deepEqual(lang.extensions, [".lyk"]);
  const props = manifest.contributes.configuration.properties;
  assert.equal(props["layak.server.path"].default, "layak");
  assert.deepEqual(props["layak.server.args"].default, ["lsp"]);
  assert.equal(props["layak.asOf"].default, "");
  // The packaged grammar is the one tested above.
  assert.equal(
    zip.get("extension/syntaxes/layak.tmLanguage.json")().toString("utf8"),
    readFileSync(grammarPath, "utf8"),
  );
  const bundle = zip.get("extension/dist/extension.js")().toString("utf8");
  assert.ok(!/require\(["']vscode-languageclient/.test(bundle), "the client library is not bundled");
  assert.ok(bundle.includes("layak.server"), "the bundle does not read the layak.server settings");
  const notices = zip.get("extension/dist/THIRD_PARTY_NOTICES.txt")().toString("utf8");
  assert.match(notices, /^vscode-languageclient \d+\.\d+\.\d+ \(MIT\)$/m);
});

test("the bundled client loads, and finds the server on PATH or reports it missing", async () => {
  // A stand-in for the `vscode` module, enough to load the bundle and call
  // the command resolution (the extension host is not available here).
  const Module = require("node:module");
  const stub = new Proxy(function () {}, {
    get: (_t, key) => (key === "workspace" ? { workspaceFolders: undefined } : stub),
    construct: () => stub,
    apply: () => stub,
  });
  const load = Module._load;
  Module._load = function (request, ...rest) {
    return request === "vscode" ? stub : load.call(this, request, ...rest);
  };
  try {
    const client = require(join(ext, "dist", "extension.js"));
    assert.equal(typeof client.activate, "function");
    assert.equal(typeof client.deactivate, "function");
    assert.ok(client.resolveCommand("node"), "`node` is on PATH, so it resolves");
    assert.equal(client.resolveCommand("layak-no-such-binary"), undefined);
    assert.equal(client.resolveCommand("/no/such/dir/layak"), undefined);
    assert.equal(client.resolveCommand(process.execPath), process.execPath);
  } finally {
    Module._load = load;
  }
});
