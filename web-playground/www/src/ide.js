// The editor's language services, from `layak_dsl::ide` in the page's wasm
// (the analysis `layak lsp` serves too; no server): hover, completion, go to
// definition (F12, Ctrl/Cmd+click), references (Shift+F12) and rename (F2).
// The shim answers in JSON with positions in UTF-16 code units, CodeMirror's
// own.
import { EditorState, StateEffect, StateField } from "@codemirror/state";
import { Decoration, EditorView, hoverTooltip, keymap, showDialog } from "@codemirror/view";
import { syntaxTree } from "@codemirror/language";
import { renderMarkdown } from "./markdown.js";

// The analysis's completion kinds as CodeMirror's icon types.
const ICONS = {
  field: "property",
  variant: "enum",
  enum: "type",
  record: "class",
  subject: "variable",
  function: "function",
  definition: "function",
  parameter: "constant",
  table: "namespace",
  local: "variable",
  keyword: "keyword",
};

// While Ctrl (Cmd on a Mac) is held, the name under the mouse that has a
// definition is underlined like a link: a click goes there.
const setLink = StateEffect.define();
const linkField = StateField.define({
  create: () => Decoration.none,
  update(link, tr) {
    if (tr.docChanged) link = Decoration.none;
    for (const e of tr.effects) if (e.is(setLink)) link = e.value;
    return link;
  },
  provide: (f) => EditorView.decorations.from(f),
});
const linkMark = Decoration.mark({ class: "cm-lyk-link" });

function clearLink(view) {
  if (view.state.field(linkField).size) view.dispatch({ effects: setLink.of(Decoration.none) });
}

/// The services for the editor of one file. `host` is the page:
///   ws()                 the shim's Workspace, its files up to date
///   asOf()               the page's `as of` date (YYYY-MM-DD)
///   jump(file, from, to) shows a range of a file, opening its tab
///   applyEdits(edits)    applies [{file, from, to, text}]; returns an error text or null
///   showReferences(refs) shows [{file, from, to}], the uses of one name
///   timed(kind, ms)      records how long a service took
export function ide(file, host) {
  /// Calls the shim and parses its JSON; null when it has no answer, and
  /// when it fails (the reason goes to the console: the editor goes on).
  function ask(kind, call) {
    const t0 = performance.now();
    let answer = null;
    try {
      answer = JSON.parse(call(host.ws()));
    } catch (e) {
      console.warn(`${kind}: ${e && e.message ? e.message : e}`);
    }
    host.timed(kind, performance.now() - t0);
    return answer;
  }

  const hover = hoverTooltip((view, pos) => {
    const h = ask("hover", (ws) => ws.hover(file, pos, host.asOf()));
    if (!h || h.error || !h.markdown) return null;
    return {
      pos: h.from,
      end: h.to,
      above: true,
      create: () => {
        const dom = document.createElement("div");
        dom.className = "cm-lyk-hover";
        dom.append(renderMarkdown(h.markdown));
        return { dom };
      },
    };
  });

  function complete(context) {
    const word = context.matchBefore(/[A-Za-z0-9_]*/);
    const afterDot = context.state.sliceDoc(word.from - 1, word.from) === ".";
    if (!context.explicit && word.from === word.to && !afterDot) return null;
    // Not in a comment or a string's text (a `{hole}` in a string is code).
    if (/comment|string/.test(syntaxTree(context.state).resolveInner(context.pos, -1).name)) return null;
    const items = ask("completion", (ws) => ws.completions(file, context.pos));
    if (!Array.isArray(items) || items.length === 0) return null;
    return {
      from: Math.min(items[0].from, context.pos),
      options: items.map((c) => ({ label: c.label, type: ICONS[c.kind] || "text", detail: c.detail })),
      validFor: /^[A-Za-z0-9_]*$/,
    };
  }

  /// Goes to the declaration of the name at `pos`; false when there is none.
  function definitionAt(pos) {
    const d = ask("definition", (ws) => ws.definition(file, pos));
    if (!d || d.error || d.file === undefined) return false;
    host.jump(d.file, d.from, d.to);
    return true;
  }

  function rename(view) {
    const pos = view.state.selection.main.head;
    const target = ask("rename", (ws) => ws.prepare_rename(file, pos));
    if (target && !target.error) {
      renameDialog(view, target, target.name, null);
    } else {
      // Nothing renamable here: the analysis says why (no name, or a
      // record field, whose name is the households' key), whatever the new
      // name would be.
      const why = ask("rename", (ws) => ws.rename(file, pos, "_"));
      showDialog(view, { label: (why && why.error) || "there is no name to rename here", class: "cm-rename-refused", focus: true });
    }
    return true;
  }

  /// The inline prompt under the editor; a refused name opens it again with
  /// the reason.
  function renameDialog(view, target, value, error) {
    const { result } = showDialog(view, {
      content: () => {
        const form = document.createElement("form");
        const label = document.createElement("label");
        const name = document.createElement("code");
        name.textContent = target.name;
        const input = document.createElement("input");
        input.name = "input";
        input.className = "cm-textfield";
        input.value = value;
        input.spellcheck = false;
        input.setAttribute("aria-label", "new name");
        label.append("Rename ", name, " to ", input);
        const ok = document.createElement("button");
        ok.type = "submit";
        ok.className = "cm-button";
        ok.textContent = "Rename";
        form.append(label, " ", ok);
        if (error) {
          const why = document.createElement("span");
          why.className = "cm-rename-error";
          why.textContent = error;
          form.append(" ", why);
        }
        return form;
      },
      class: "cm-rename",
      focus: "input",
    });
    result.then((form) => {
      if (!form) return;
      const newName = form.elements.namedItem("input").value.trim();
      if (newName === "" || newName === target.name) return;
      const answer = ask("rename", (ws) => ws.rename(target.file, target.from, newName));
      const refused = !answer ? "the rename failed" : answer.error || host.applyEdits(answer.edits);
      // The dialog closes after this microtask; open the next one after it.
      if (refused) setTimeout(() => renameDialog(view, target, newName, refused), 0);
    });
  }

  function references(view) {
    const pos = view.state.selection.main.head;
    const refs = ask("references", (ws) => ws.references(file, pos));
    if (Array.isArray(refs) && refs.length > 0) host.showReferences(refs);
    return true;
  }

  /// Underlines the name at the mouse when it has a definition (asked once
  /// per name the mouse enters).
  let linked = null;
  function showLink(view, event) {
    const pos = view.posAtCoords({ x: event.clientX, y: event.clientY });
    const word = pos === null ? null : view.state.wordAt(pos);
    if (!word) {
      linked = null;
      clearLink(view);
      return;
    }
    const key = `${word.from}:${word.to}:${view.state.doc.length}`;
    if (key === linked) return;
    linked = key;
    const d = ask("definition", (ws) => ws.definition(file, pos));
    const marks = d && !d.error && d.file !== undefined ? Decoration.set([linkMark.range(word.from, word.to)]) : Decoration.none;
    view.dispatch({ effects: setLink.of(marks) });
  }

  return [
    hover,
    linkField,
    EditorState.languageData.of(() => [{ autocomplete: complete }]),
    keymap.of([
      { key: "F12", run: (view) => (definitionAt(view.state.selection.main.head), true) },
      { key: "F2", run: rename },
      { key: "Shift-F12", run: references },
    ]),
    EditorView.domEventHandlers({
      mousemove(event, view) {
        if (event.ctrlKey || event.metaKey) showLink(view, event);
        else if (linked !== null) {
          linked = null;
          clearLink(view);
        }
        return false;
      },
      keyup(event, view) {
        if (event.key === "Control" || event.key === "Meta") {
          linked = null;
          clearLink(view);
        }
        return false;
      },
      mouseleave(_event, view) {
        linked = null;
        clearLink(view);
        return false;
      },
      mousedown(event, view) {
        if (event.button !== 0 || !(event.ctrlKey || event.metaKey)) return false;
        const pos = view.posAtCoords({ x: event.clientX, y: event.clientY });
        if (pos === null || !definitionAt(pos)) return false;
        event.preventDefault();
        return true;
      },
    }),
  ];
}
