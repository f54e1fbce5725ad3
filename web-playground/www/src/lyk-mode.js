// Highlighting of the Layak language for CodeMirror 6: a small stream
// tokenizer (keywords, types, strings with their `{holes}`, money, numbers,
// comments). The grammar itself stays in dsl/src/syntax/layak.pest; this
// only colours text.
import { StreamLanguage } from "@codemirror/language";

const keywords = new Set([
  "import", "enum", "record", "subject", "def", "param", "table", "ruleset", "criterion",
  "stage", "programme", "for", "each", "in", "where", "let", "require", "message", "benefit",
  "per", "from", "source", "key", "label", "blocking", "warning", "reason", "on", "missing",
  "if", "then", "else", "match", "and", "or", "not", "list", "int", "text", "bool", "date",
  "money", "verification", "determination", "year", "month", "fail", "pass",
]);
const builtins = new Set([
  "count", "any", "all", "sum_top", "sum", "min", "max", "filter", "present", "len",
  "starts_with", "slice", "to_int", "age", "years_between",
]);

export const lyk = StreamLanguage.define({
  name: "layak",
  startState: () => ({ inString: false, hole: 0 }),
  token(stream, state) {
    if (state.inString && state.hole === 0) {
      if (stream.eat("{")) { state.hole = 1; return "meta"; }
      while (!stream.eol()) {
        const ch = stream.peek();
        if (ch === "\\") { stream.next(); stream.next(); continue; }
        if (ch === "\"") { stream.next(); state.inString = false; return "string"; }
        if (ch === "{") break;
        stream.next();
      }
      if (stream.eol() && state.inString) state.inString = false;
      return "string";
    }
    if (stream.eatSpace()) return null;
    if (state.hole > 0) {
      if (stream.eat("{")) { state.hole++; return "meta"; }
      if (stream.eat("}")) { state.hole--; return "meta"; }
    }
    if (stream.match("//")) { stream.skipToEnd(); return "comment"; }
    if (stream.eat("\"")) { state.inString = true; state.hole = 0; return "string"; }
    if (stream.match(/^Rp\s*[0-9][0-9_]*/)) return "number";
    if (stream.match(/^[0-9]{4}-[0-9]{2}-[0-9]{2}/)) return "number";
    if (stream.match(/^[0-9][0-9_]*/)) return "number";
    if (stream.match(/^(true|false)\b/)) return "atom";
    const word = stream.match(/^[A-Za-z_][A-Za-z0-9_]*/);
    if (word) {
      const w = word[0];
      if (keywords.has(w)) return "keyword";
      if (builtins.has(w)) return "builtin";
      if (/^[A-Z][A-Z0-9_]+$/.test(w)) return "labelName";
      if (/^[A-Z]/.test(w)) return "typeName";
      return "variableName";
    }
    if (stream.match(/^(==|!=|<=|>=|\?\?|->|\.\.)/)) return "operator";
    stream.next();
    return null;
  },
  languageData: { commentTokens: { line: "//" } },
});
