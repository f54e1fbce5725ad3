// A small Markdown renderer for the editor's hover text (what
// `layak_dsl::ide` writes: fenced code, paragraphs, `- ` lists, pipe tables,
// `code` and **bold**). It builds DOM nodes and sets only textContent, so no
// text from the rules is ever parsed as HTML.

/// The hover's Markdown as a <div class="cm-md">.
export function renderMarkdown(md) {
  const root = document.createElement("div");
  root.className = "cm-md";
  const lines = md.replace(/\r\n?/g, "\n").split("\n");
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const fence = line.match(/^\s*```\s*(\S*)/);
    if (fence) {
      const code = [];
      i++;
      while (i < lines.length && !/^\s*```/.test(lines[i])) code.push(lines[i++]);
      i++; // the closing fence
      const pre = document.createElement("pre");
      const c = document.createElement("code");
      if (fence[1]) c.dataset.lang = fence[1];
      c.textContent = code.join("\n");
      pre.append(c);
      root.append(pre);
    } else if (/^\s*\|/.test(line)) {
      const rows = [];
      while (i < lines.length && /^\s*\|/.test(lines[i])) rows.push(lines[i++]);
      root.append(table(rows));
    } else if (/^\s*[-*] /.test(line)) {
      const ul = document.createElement("ul");
      while (i < lines.length && /^\s*[-*] /.test(lines[i])) {
        const li = document.createElement("li");
        inline(li, lines[i++].replace(/^\s*[-*] /, ""));
        ul.append(li);
      }
      root.append(ul);
    } else if (line.trim() === "") {
      i++;
    } else {
      const para = [];
      while (i < lines.length && lines[i].trim() !== "" && !/^\s*(```|\||[-*] )/.test(lines[i])) para.push(lines[i++]);
      const p = document.createElement("p");
      para.forEach((text, k) => {
        if (k > 0) p.append(document.createElement("br"));
        inline(p, text);
      });
      root.append(p);
    }
  }
  return root;
}

/// A pipe table; the second row is the |---| separator. `\|` is a pipe
/// inside a cell.
function table(rows) {
  const cells = (row) =>
    row.trim().replace(/^\|/, "").replace(/\|$/, "")
      .split(/(?<!\\)\|/)
      .map((c) => c.trim().replace(/\\\|/g, "|"));
  const t = document.createElement("table");
  rows.forEach((row, k) => {
    if (k === 1 && /^[\s|:-]+$/.test(row)) return;
    const tr = document.createElement("tr");
    for (const text of cells(row)) {
      const cell = document.createElement(k === 0 ? "th" : "td");
      inline(cell, text);
      tr.append(cell);
    }
    t.append(tr);
  });
  return t;
}

/// `code` and **bold** inside a line, everything else as plain text.
function inline(parent, text) {
  const re = /`([^`]+)`|\*\*([^*]+)\*\*/g;
  let at = 0;
  for (const m of text.matchAll(re)) {
    if (m.index > at) parent.append(document.createTextNode(text.slice(at, m.index)));
    const el = document.createElement(m[1] !== undefined ? "code" : "strong");
    el.textContent = m[1] !== undefined ? m[1] : m[2];
    parent.append(el);
    at = m.index + m[0].length;
  }
  if (at < text.length) parent.append(document.createTextNode(text.slice(at)));
}
