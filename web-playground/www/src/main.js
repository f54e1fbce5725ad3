// The Layak playground page. The checker and the wasm compiler run in the
// page (the `layak-playground` crate through wasm-bindgen); the rules they
// compile run on the browser's own WebAssembly, the same module the server
// runs (docs/abi.md). Every change recompiles and re-evaluates at once.
import init, { Workspace, format as formatRules, apply_changes as applyChanges } from "../../pkg/layak_playground.js";
import { EditorState, EditorSelection, StateEffect, StateField, Compartment } from "@codemirror/state";
import { EditorView, Decoration, keymap, showDialog } from "@codemirror/view";
import { basicSetup } from "codemirror";
import { setDiagnostics, lintGutter } from "@codemirror/lint";
import { indentWithTab } from "@codemirror/commands";
import { shipped } from "virtual:shipped";
import { lyk } from "./lyk-mode.js";
import { householdForm } from "./form.js";
import { encodeState, decodeState } from "./share.js";
import { tarArchive } from "./tar.js";
import { renderResults, renderExplanation, renderChanges, renderWhatIf, money } from "./render.js";
import { ide } from "./ide.js";

const $ = (id) => document.getElementById(id);
const SCHEMA_FILE = "rules/schema.lyk";

// ---- state ------------------------------------------------------------------

function initialState() {
  return {
    files: Object.fromEntries(Object.entries(shipped.rules)),
    households: shipped.samples.trim().split("\n").map((l) => JSON.parse(l)),
    asOf: "2025-10-01",
    params: {},
    lang: "en",
    selected: 0,
    tab: "rules/pkh.lyk",
  };
}

let state = initialState();
const app = {
  ws: null,
  compiled: null,
  compiledRules: null, // the rule texts `compiled` was built from
  sentRules: null, // the rule texts the workspace holds
  wasm: null, // { bytesKey, instance }
  schema: null,
  paramsInfo: [],
  criteria: [],
  results: null, // the latest decoded lines
  baseline: null,
  diagnostics: [],
  runs: 0,
  timings: [],
  pendingSince: null,
  running: false,
  again: false,
  lastError: null,
  compileSeq: 0, // which compilation `compiled` is (the what-if cache key)
  whatIf: null, // the latest "what would change" of the selected household
  whatIfKey: null,
  whatIfRuns: 0,
  ideTimings: { hover: [], completion: [], definition: [], references: [], rename: [] }, // ms per request
};
window.__layak = app;

// ---- the run: compile, evaluate on WebAssembly, decode ------------------------

function rulesChanged() {
  if (!app.compiledRules) return true;
  for (const [name, text] of Object.entries(state.files)) {
    if (app.compiledRules[name] !== text) return true;
  }
  return Object.keys(app.compiledRules).length !== Object.keys(state.files).length;
}

const phases = (app.phases = []);
function phase(name, t0) {
  phases.push([name, performance.now() - t0]);
  if (phases.length > 400) phases.splice(0, 200);
}

/// Sends the workspace the rule texts that changed since it last saw them:
/// before a compilation, and before the editor asks it about the rules.
function syncWorkspace() {
  for (const name of Object.keys(app.sentRules || {})) {
    if (!(name in state.files)) app.ws.remove_file(name);
  }
  for (const [name, text] of Object.entries(state.files)) {
    if (!app.sentRules || app.sentRules[name] !== text) app.ws.set_file(name, text);
  }
  app.sentRules = { ...state.files };
}

function compileIfNeeded() {
  if (!rulesChanged()) return;
  let t0 = performance.now();
  syncWorkspace();
  app.compiledRules = { ...state.files };
  if (app.compiled) app.compiled.free();
  app.compiled = app.ws.compile();
  app.compileSeq++;
  phase("compile", t0);
  t0 = performance.now();
  app.diagnostics = JSON.parse(app.compiled.diagnostics());
  if (app.compiled.ok()) {
    app.paramsInfo = JSON.parse(app.compiled.params());
    app.criteria = JSON.parse(app.compiled.criteria());
    app.schema = JSON.parse(app.compiled.schema());
    app.wasm = null;
  }
  phase("describe", t0);
  t0 = performance.now();
  showDiagnostics();
  phase("diagnostics", t0);
}

async function instance() {
  if (app.wasm) return app.wasm;
  let t0 = performance.now();
  const bytes = app.compiled.module();
  phase("codegen", t0);
  t0 = performance.now();
  const { instance } = await WebAssembly.instantiate(bytes, {});
  phase("instantiate", t0);
  if (instance.exports.abi_version() !== 2) throw new Error("the module's ABI version is not 2");
  app.wasm = instance;
  app.moduleSize = bytes.length;
  return instance;
}

/// Runs the households through the compiled module: the batch goes into the
/// module's memory at `alloc`, `evaluate` writes the result block, and the
/// shim decodes it into the CLI's decisions.
async function evaluateOnWasm() {
  const wasm = await instance();
  const t0 = performance.now();
  const ndjson = state.households.map((h) => JSON.stringify(h)).join("\n");
  let prepared;
  try {
    prepared = app.compiled.prepare(ndjson, state.asOf, JSON.stringify(state.params));
  } catch (e) {
    throw new Error(errorText(e));
  }
  try {
    const batch = prepared.batch();
    const { alloc, evaluate, result_len, memory } = wasm.exports;
    const ptr = alloc(batch.length);
    if (ptr === 0) throw new Error("the module could not allocate memory for the batch");
    new Uint8Array(memory.buffer, ptr, batch.length).set(batch);
    const at = evaluate(ptr, batch.length);
    if (at < 0) throw new Error(`the module rejected the batch (error ${at})`);
    const len = result_len();
    const out = JSON.parse(prepared.decode(new Uint8Array(memory.buffer, at, len)));
    if (!Array.isArray(out)) throw new Error(out.error || "the result block could not be read");
    app.unknownFields = prepared.unknown_fields();
    phase("evaluate", t0);
    return out;
  } finally {
    prepared.free();
  }
}

function errorText(e) {
  const text = typeof e === "string" ? e : e && e.message ? e.message : String(e);
  try {
    const j = JSON.parse(text);
    if (j && j.error) return j.error;
  } catch {
    // Not JSON: the text itself.
  }
  return text;
}

/// Schedules a run; edits that arrive while one is running are folded into
/// the next. `pendingSince` is the time of the oldest edit not yet shown.
function schedule() {
  if (app.pendingSince === null) app.pendingSince = performance.now();
  if (app.running) {
    app.again = true;
    return;
  }
  app.running = true;
  queueMicrotask(runLoop);
}

async function runLoop() {
  do {
    app.again = false;
    const since = app.pendingSince;
    app.pendingSince = null;
    await runOnce();
    const ms = performance.now() - since;
    app.timings.push(ms);
    $("timing").textContent = `recompiled and re-evaluated ${state.households.length} households in ${ms.toFixed(1)} ms`;
    if (app.again && app.pendingSince === null) app.pendingSince = performance.now();
  } while (app.again);
  app.running = false;
}

async function runOnce() {
  $("run-error").textContent = "";
  try {
    compileIfNeeded();
    if (!app.compiled.ok()) {
      const n = app.diagnostics.filter((d) => d.level === "error").length;
      setStatus(`${n} error${n === 1 ? "" : "s"} in the rules: results are from the last rules that compiled`, "bad");
      $("results").classList.add("stale");
    } else {
      app.results = await evaluateOnWasm();
      if (!app.baseline) app.baseline = app.results;
      $("results").classList.remove("stale");
      const unknown = app.unknownFields ? ` · ${app.unknownFields}` : "";
      setStatus(`ok · module ${(app.moduleSize / 1024).toFixed(0)} KiB${unknown}`, "good");
      renderParams();
    }
    const t0 = performance.now();
    renderAll();
    phase("render", t0);
  } catch (e) {
    app.lastError = errorText(e);
    $("run-error").textContent = app.lastError;
    setStatus("error", "bad");
    console.error(e);
  }
  app.runs++;
  document.body.dataset.runs = String(app.runs);
}

function setStatus(text, cls) {
  const s = $("status");
  s.textContent = text;
  s.className = cls;
}

function renderAll() {
  if (!app.results) return;
  renderResults($("results"), app.results, state, (i) => selectHousehold(i));
  renderChanges($("changes"), app.baseline, app.results, state.lang);
  renderSelected();
}

function renderSelected() {
  const line = app.results && app.results[state.selected];
  const h = state.households[state.selected];
  $("explain-for").textContent = h ? String(h.record_id ?? `#${state.selected + 1}`) : "";
  const failing = renderExplanation($("explanation"), line, state.lang, app.criteria, (c) => revealCriterion(c));
  markFailing(failing);
  queueWhatIf();
}

// ---- what would change ----------------------------------------------------------

// The counterfactual search evaluates the household up to a budget of times
// per subject (the shim's default, as `layak eval`): it runs only while the
// panel is open, for the selected household, a moment after the last edit,
// and not again while nothing it depends on changed.
const WHATIF_DELAY_MS = 250;
let whatIfTimer = null;

function queueWhatIf(delay = WHATIF_DELAY_MS) {
  if (!$("whatif-box").open) return;
  clearTimeout(whatIfTimer);
  whatIfTimer = setTimeout(updateWhatIf, delay);
}

function updateWhatIf() {
  const box = $("whatif-box");
  if (!box.open) return;
  const h = state.households[state.selected];
  $("whatif-for").textContent = h ? String(h.record_id ?? `#${state.selected + 1}`) : "";
  if (!h || !app.compiled || !app.compiled.ok()) {
    $("whatif").classList.add("stale");
    return;
  }
  $("whatif").classList.remove("stale");
  const key = JSON.stringify([app.compileSeq, state.asOf, state.params, h]);
  if (app.whatIfKey !== key) {
    const t0 = performance.now();
    try {
      app.whatIf = JSON.parse(app.compiled.what_if(JSON.stringify(h), state.asOf, JSON.stringify(state.params), 0));
    } catch (e) {
      app.whatIf = { error: errorText(e) };
    }
    const ms = performance.now() - t0;
    phase("what-if", t0);
    app.whatIfKey = key;
    $("whatif-timing").textContent = app.whatIf.evaluations !== undefined
      ? `(${app.whatIf.evaluations} evaluations in ${ms.toFixed(0)} ms)` : "";
  }
  renderWhatIf($("whatif"), app.whatIf, state.lang, applyOffer);
  app.whatIfRuns++;
  box.dataset.runs = String(app.whatIfRuns);
}

/// One click on an offer: its changes go into the selected household (the
/// shim's `apply_changes`, the function the CLI's tests check offers with),
/// the form and the JSON show it, and the page re-evaluates.
function applyOffer(changes) {
  const h = state.households[state.selected];
  if (!h) return;
  try {
    state.households[state.selected] = JSON.parse(applyChanges(JSON.stringify(h), JSON.stringify(changes)));
  } catch (e) {
    $("run-error").textContent = errorText(e);
    return;
  }
  householdsChanged();
}

// ---- the rule editor ----------------------------------------------------------

const setMarks = StateEffect.define();
const markField = StateField.define({
  create: () => Decoration.none,
  update(marks, tr) {
    marks = marks.map(tr.changes);
    for (const e of tr.effects) if (e.is(setMarks)) marks = e.value;
    return marks;
  },
  provide: (f) => EditorView.decorations.from(f),
});
const failingMark = Decoration.mark({ class: "cm-failing-criterion" });
const readOnly = new Compartment();
const editorStates = {};
let view;

function editorState(name) {
  return EditorState.create({
    doc: state.files[name],
    extensions: [
      basicSetup,
      keymap.of([indentWithTab]),
      lyk,
      ide(name, ideHost),
      lintGutter(),
      markField,
      readOnly.of([EditorState.readOnly.of(name === SCHEMA_FILE), EditorView.editable.of(name !== SCHEMA_FILE)]),
      EditorView.updateListener.of((u) => {
        if (u.docChanged) {
          if (app.pendingSince === null) app.pendingSince = performance.now();
          state.files[name] = u.state.doc.toString();
          schedule();
        }
      }),
    ],
  });
}

// What the editor's language services (ide.js) need from the page.
const ideHost = {
  ws() {
    syncWorkspace();
    return app.ws;
  },
  asOf: () => state.asOf,
  jump: (file, from, to) => revealRange(file, from, to),
  applyEdits,
  showReferences,
  timed(kind, ms) {
    const list = (app.ideTimings[kind] ||= []);
    list.push(ms);
    if (list.length > 200) list.splice(0, 100);
  },
};

/// Shows the uses of a name ([{file, from, to}]): in the open file all of
/// them selected (one cursor each), and a bar under the editor with the
/// count per file; a file's button opens it with its uses selected.
function showReferences(refs) {
  const byFile = new Map();
  for (const r of refs) {
    if (!(r.file in state.files)) continue;
    if (!byFile.has(r.file)) byFile.set(r.file, []);
    byFile.get(r.file).push(r);
  }
  const here = byFile.get(state.tab);
  if (here) {
    const len = view.state.doc.length;
    const ranges = here.map((r) => EditorSelection.range(Math.min(r.from, len), Math.min(r.to, len)));
    const head = view.state.selection.main.head;
    const main = Math.max(0, here.findIndex((r) => r.from <= head && head <= r.to));
    view.dispatch({ selection: EditorSelection.create(ranges, main), scrollIntoView: true });
  }
  if (closeReferences) view.dispatch({ effects: closeReferences });
  closeReferences = showDialog(view, {
    content: (_view, close) => {
      const form = document.createElement("form");
      const total = refs.length;
      form.append(`${total} use${total === 1 ? "" : "s"} (declaration included): `);
      for (const [file, list] of byFile) {
        const b = document.createElement("button");
        b.type = "button";
        b.className = "cm-button";
        b.dataset.file = file;
        b.textContent = `${file.replace(/^rules\//, "")} (${list.length})`;
        b.onclick = () => {
          close();
          if (file !== state.tab) openTab(file);
          showReferences(refs);
        };
        form.append(b, " ");
      }
      return form;
    },
    class: "cm-references",
  }).close;
}
let closeReferences = null; // the effect that closes the open references bar

/// Applies a rename's edits ([{file, from, to, text}], UTF-16 offsets into
/// the current texts) to every file they touch, then recompiles as an
/// ordinary edit does. The open file changes through its editor, every
/// other file through its editor state (kept for its tab, made if the tab
/// was never opened): one undo step in each file's tab. Returns why nothing
/// was changed, or null.
function applyEdits(edits) {
  const byFile = new Map();
  for (const e of edits) {
    if (!(e.file in state.files)) return `\`${e.file}\` is not open in the playground`;
    if (!byFile.has(e.file)) byFile.set(e.file, []);
    byFile.get(e.file).push(e);
  }
  if (byFile.has(SCHEMA_FILE)) return "the schema is read-only in the playground";
  for (const [file, list] of byFile) {
    const changes = list
      .map((e) => ({ from: e.from, to: e.to, insert: e.text }))
      .sort((a, b) => a.from - b.from);
    if (file === state.tab) {
      view.dispatch({ changes, userEvent: "rename" });
      continue;
    }
    let kept = editorStates[file];
    if (!kept || kept.doc.toString() !== state.files[file]) kept = editorState(file);
    editorStates[file] = kept.update({ changes, userEvent: "rename" }).state;
    state.files[file] = editorStates[file].doc.toString();
  }
  schedule();
  return null;
}

function buildTabs() {
  const tabs = $("tabs");
  tabs.textContent = "";
  for (const name of Object.keys(state.files)) {
    const b = document.createElement("button");
    b.role = "tab";
    b.dataset.file = name;
    b.textContent = name.replace(/^rules\//, "") + (name === SCHEMA_FILE ? " (read-only)" : "");
    b.onclick = () => openTab(name);
    tabs.append(b);
  }
  const fmt = document.createElement("button");
  fmt.id = "format";
  fmt.textContent = "Format";
  fmt.title = "layak fmt this file";
  fmt.onclick = formatTab;
  tabs.append(fmt);
}

function openTab(name) {
  if (view) editorStates[state.tab] = view.state;
  state.tab = name;
  let s = editorStates[name];
  if (!s || s.doc.toString() !== state.files[name]) s = editorStates[name] = editorState(name);
  view.setState(s);
  for (const b of $("tabs").querySelectorAll("button[data-file]")) {
    b.classList.toggle("on", b.dataset.file === name);
    b.setAttribute("aria-selected", String(b.dataset.file === name));
  }
  showDiagnostics();
  renderSelected();
}

function formatTab() {
  if (state.tab === SCHEMA_FILE) return;
  try {
    const text = formatRules(state.tab, state.files[state.tab]);
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
  } catch {
    // It does not parse: the diagnostics already say why.
  }
}

/// Byte offsets (what the Rust side counts) to string offsets.
function charOffset(text, byte) {
  if (!/[^\x00-\x7f]/.test(text)) return Math.min(byte, text.length);
  const bytes = new TextEncoder().encode(text);
  return new TextDecoder().decode(bytes.subarray(0, byte)).length;
}

function showDiagnostics() {
  const box = $("diagnostics");
  box.textContent = "";
  const text = state.files[state.tab];
  const here = [];
  for (const d of app.diagnostics) {
    const row = document.createElement("div");
    row.className = `diag ${d.level}`;
    row.dataset.code = d.code;
    const head = document.createElement("button");
    head.textContent = `${d.level} ${d.code}: ${d.message}`;
    head.onclick = () => reveal(d.file, d.start, d.end);
    const where = document.createElement("span");
    where.className = "where";
    where.textContent = ` ${d.file}:${d.line}:${d.column}`;
    row.append(head, where);
    if (d.help) {
      const help = document.createElement("div");
      help.className = "help";
      help.textContent = `help: ${d.help}`;
      row.append(help);
    }
    box.append(row);
    if (d.file === state.tab && text !== undefined) {
      const from = charOffset(text, d.start);
      const to = Math.max(from, charOffset(text, d.end));
      here.push({
        from,
        to: Math.min(to, text.length),
        severity: d.level === "error" ? "error" : "warning",
        source: d.code,
        message: `${d.code}: ${d.message}${d.help ? `\nhelp: ${d.help}` : ""}`,
        actions: quickFixes(d, from, Math.min(to, text.length)),
      });
    }
  }
  if (view) view.dispatch(setDiagnostics(view.state, here));
}

/// The analysis's quick fixes for a diagnostic (its "did you mean" name),
/// as lint actions: a click applies the edits like any other edit.
function quickFixes(d, from, to) {
  if (!d.help || !app.ws) return [];
  let actions;
  try {
    actions = JSON.parse(ideHost.ws().code_actions(d.file, from, to));
  } catch {
    return [];
  }
  if (!Array.isArray(actions)) return [];
  return actions
    .filter((a) => a.code === d.code && a.edits.some((e) => e.file === d.file && e.from === from && e.to === to))
    .map((a) => ({ name: a.title, apply: () => applyEdits(a.edits) }));
}

function reveal(file, start, end) {
  if (!(file in state.files)) return;
  if (file !== state.tab) openTab(file);
  const text = state.files[file];
  const from = charOffset(text, start);
  const to = charOffset(text, end);
  view.dispatch({ selection: { anchor: from, head: Math.max(from, to) }, scrollIntoView: true });
  view.focus();
}

/// Selects a range (UTF-16 offsets, CodeMirror's) of a file, opening its tab,
/// and scrolls it to the middle of the editor.
function revealRange(file, from, to) {
  if (!(file in state.files)) return;
  if (file !== state.tab) openTab(file);
  const len = view.state.doc.length;
  const a = Math.min(from, len);
  const b = Math.min(Math.max(a, to), len);
  view.dispatch({ selection: { anchor: a, head: b }, effects: EditorView.scrollIntoView(a, { y: "center" }) });
  view.focus();
}

function revealCriterion(c) {
  reveal(c.file, c.start, c.start);
}

/// Marks, in the open file, every criterion the selected household fails.
function markFailing(failing) {
  if (!view) return;
  const text = state.files[state.tab];
  const ranges = [];
  for (const c of failing || []) {
    if (c.file !== state.tab) continue;
    const from = charOffset(text, c.start);
    const to = charOffset(text, c.end);
    if (to > from && to <= text.length) ranges.push(failingMark.range(from, to));
  }
  ranges.sort((a, b) => a.from - b.from);
  view.dispatch({ effects: setMarks.of(Decoration.set(ranges)) });
}

// ---- parameters ------------------------------------------------------------------

function inForce(p) {
  let best = null;
  for (const e of p.entries) if (e.from <= state.asOf && (!best || e.from >= best.from)) best = e;
  return best;
}

function renderParams() {
  const box = $("params");
  const key = JSON.stringify([app.paramsInfo, state.asOf, state.params]);
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  box.textContent = "";
  for (const p of app.paramsInfo) {
    const entry = inForce(p);
    const row = document.createElement("div");
    row.className = "param";
    row.dataset.param = p.name;
    const label = document.createElement("label");
    label.textContent = p.name;
    const input = document.createElement("input");
    input.type = p.type === "int" || p.type === "money" ? "number" : "text";
    input.value = p.name in state.params ? state.params[p.name] : entry ? entry.value : "";
    input.placeholder = entry ? "" : "no value in force";
    input.setAttribute("aria-label", p.name);
    input.addEventListener("input", () => {
      const v = input.value.trim();
      if (v === "" || (entry && v === entry.value)) delete state.params[p.name];
      else state.params[p.name] = v;
      row.classList.toggle("overridden", p.name in state.params);
      box.dataset.key = JSON.stringify([app.paramsInfo, state.asOf, state.params]);
      schedule();
    });
    const info = document.createElement("small");
    info.textContent = entry
      ? `${p.type}${p.type === "money" ? ` (Rp ${money(Number(entry.value), "en")})` : ""} · ${entry.value} from ${entry.from} · ${entry.source}`
      : `${p.type} · no entry in force at ${state.asOf}`;
    row.classList.toggle("overridden", p.name in state.params);
    row.append(label, input, info);
    box.append(row);
  }
}

// ---- households -----------------------------------------------------------------

function renderHouseholdList() {
  const list = $("household-list");
  list.textContent = "";
  state.households.forEach((h, i) => {
    const b = document.createElement("button");
    b.textContent = String(h.record_id ?? `#${i + 1}`);
    b.dataset.index = String(i);
    b.classList.toggle("on", i === state.selected);
    b.onclick = () => selectHousehold(i);
    list.append(b);
  });
}

function selectHousehold(i) {
  state.selected = Math.max(0, Math.min(i, state.households.length - 1));
  renderHouseholdList();
  renderHouseholdEditors();
  renderSelected();
}

function renderHouseholdEditors() {
  const h = state.households[state.selected];
  const form = $("hh-form");
  if (h && app.schema) {
    householdForm(form, app.schema, h, {
      changed: () => {
        $("hh-json").value = JSON.stringify(h, null, 2);
        renderHouseholdList();
        schedule();
      },
      restructured: () => renderHouseholdEditors(),
    });
  } else {
    form.textContent = "";
  }
  $("hh-json").value = h ? JSON.stringify(h, null, 2) : "";
  $("hh-json-error").textContent = "";
}

function householdsChanged() {
  renderHouseholdList();
  renderHouseholdEditors();
  schedule();
}

function blankHousehold() {
  const n = state.households.length + 1;
  return {
    record_id: `NEW${n}`,
    region: { desa_code: "3310010001", address: "" },
    verval: { result: 1, musdes_doc: "", endorsement_doc: "" },
    families: [{ kk_number: "", desil: null, members: [{ nik: "", name: "", shdk: 1, presence: 1 }] }],
  };
}

// ---- share link, download, reset --------------------------------------------------

async function share() {
  const fragment = await encodeState(state);
  const url = `${location.href.split("#")[0]}#s=${fragment}`;
  history.replaceState(null, "", url);
  try {
    await navigator.clipboard.writeText(url);
    setStatus("link copied to the clipboard", "good");
  } catch {
    setStatus("the link is in the address bar", "good");
  }
}

function download() {
  const files = { ...shipped.tables };
  for (const [name, text] of Object.entries(state.files)) files[name] = text;
  const blob = new Blob([tarArchive(files)], { type: "application/x-tar" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = "layak-rules.tar";
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

function applyState(next) {
  state = next;
  for (const k of Object.keys(editorStates)) delete editorStates[k];
  $("as-of").value = state.asOf;
  $("lang").value = state.lang;
  buildTabs();
  openTab(state.files[state.tab] !== undefined ? state.tab : Object.keys(state.files)[0]);
  selectHousehold(state.selected || 0);
  $("params").dataset.key = "";
  schedule();
}

// ---- start ------------------------------------------------------------------

async function start() {
  await init({ module_or_path: new URL("./layak_playground_bg.wasm", import.meta.url) });
  app.ws = new Workspace();
  for (const [name, text] of Object.entries(shipped.tables)) app.ws.set_file(name, text);

  const fragment = location.hash.startsWith("#s=") ? location.hash.slice(3) : null;
  if (fragment) {
    try {
      state = { ...initialState(), ...(await decodeState(fragment)) };
    } catch (e) {
      setStatus(`the share link could not be read: ${errorText(e)}`, "bad");
    }
  }

  view = new EditorView({ parent: $("editor") });
  app.view = view;
  buildTabs();
  compileIfNeeded();
  openTab(state.tab in state.files ? state.tab : "rules/pkh.lyk");
  // The baseline of the "what changed" view: the shipped rules and samples.
  if (fragment) {
    const shippedState = state;
    state = initialState();
    compileIfNeeded();
    if (app.compiled.ok()) app.baseline = await evaluateOnWasm();
    state = shippedState;
  }
  renderHouseholdList();
  renderHouseholdEditors();
  $("as-of").value = state.asOf;
  $("lang").value = state.lang;

  $("as-of").addEventListener("input", () => {
    if (!/^\d{4}-\d{2}-\d{2}$/.test($("as-of").value)) return;
    state.asOf = $("as-of").value;
    schedule();
  });
  $("lang").addEventListener("change", () => {
    state.lang = $("lang").value;
    renderAll();
  });
  $("share").onclick = share;
  $("download").onclick = download;
  $("reset").onclick = () => {
    history.replaceState(null, "", location.href.split("#")[0]);
    applyState(initialState());
  };
  $("baseline").onclick = () => {
    app.baseline = app.results;
    renderAll();
  };
  $("hh-add").onclick = () => {
    state.households.push(blankHousehold());
    state.selected = state.households.length - 1;
    householdsChanged();
  };
  $("hh-dup").onclick = () => {
    const h = state.households[state.selected];
    if (!h) return;
    const copy = structuredClone(h);
    copy.record_id = `${h.record_id}-copy`;
    state.households.splice(state.selected + 1, 0, copy);
    state.selected++;
    householdsChanged();
  };
  $("hh-del").onclick = () => {
    if (!state.households.length) return;
    state.households.splice(state.selected, 1);
    state.selected = Math.max(0, state.selected - 1);
    householdsChanged();
  };
  $("whatif-box").addEventListener("toggle", () => queueWhatIf(0));
  $("view-form").onclick = () => showView("form");
  $("view-json").onclick = () => showView("json");
  $("hh-json").addEventListener("input", () => {
    let h;
    try {
      h = JSON.parse($("hh-json").value);
    } catch (e) {
      $("hh-json-error").textContent = `not JSON: ${e.message}`;
      return;
    }
    if (!h || typeof h !== "object" || Array.isArray(h)) {
      $("hh-json-error").textContent = "a household is a JSON object";
      return;
    }
    $("hh-json-error").textContent = "";
    state.households[state.selected] = h;
    renderHouseholdList();
    if (app.schema) {
      householdForm($("hh-form"), app.schema, h, {
        changed: () => {
          $("hh-json").value = JSON.stringify(h, null, 2);
          schedule();
        },
        restructured: () => renderHouseholdEditors(),
      });
    }
    schedule();
  });
  schedule();
}

function showView(which) {
  $("hh-form").hidden = which !== "form";
  $("hh-json-box").hidden = which !== "json";
  $("view-form").classList.toggle("on", which === "form");
  $("view-json").classList.toggle("on", which === "json");
}

start().catch((e) => {
  setStatus(`the playground could not start: ${errorText(e)}`, "bad");
});
