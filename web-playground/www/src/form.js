// A household form generated from the record schema the shim describes
// (`Compiled.schema()`): one control per field, nested records as
// fieldsets, lists of records with add and remove. It edits the household
// object in place; fields the schema does not know are kept untouched.

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) e.setAttribute(k, String(v));
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined) e.append(c);
  return e;
}

export function householdForm(form, schema, household, hooks) {
  form.textContent = "";
  const root = schema.records[schema.root];
  if (!root) return;
  form.append(recordFields(schema, schema.root, household, "", hooks));
}

function recordFields(schema, recordName, obj, path, hooks) {
  const rec = schema.records[recordName];
  const box = el("div", { class: "record", "data-record": recordName });
  for (const f of rec.fields) box.append(field(schema, f, obj, path ? `${path}.${f.name}` : f.name, hooks));
  return box;
}

function field(schema, f, obj, path, hooks) {
  const ty = f.type;
  const label = `${f.name}${f.optional ? "" : " *"}`;
  if (ty.kind === "record") {
    const fs = el("fieldset", { "data-path": path }, el("legend", {}, label));
    if (obj[f.name] && typeof obj[f.name] === "object") {
      fs.append(recordFields(schema, ty.name, obj[f.name], path, hooks));
      if (f.optional) fs.append(button("remove", () => { delete obj[f.name]; hooks.changed(); hooks.restructured(); }));
    } else {
      fs.append(button(`add ${f.name}`, () => { obj[f.name] = {}; hooks.changed(); hooks.restructured(); }));
    }
    return fs;
  }
  if (ty.kind === "list" && ty.of.kind === "record") {
    const fs = el("fieldset", { "data-path": path, class: "list" }, el("legend", {}, label));
    const list = Array.isArray(obj[f.name]) ? obj[f.name] : [];
    list.forEach((item, i) => {
      const sub = el("fieldset", { "data-path": `${path}[${i}]` }, el("legend", {}, `${f.name}[${i}]${labelOf(schema, ty.of.name, item)}`));
      sub.append(recordFields(schema, ty.of.name, item, `${path}[${i}]`, hooks));
      sub.append(button(`remove ${f.name}[${i}]`, () => { list.splice(i, 1); hooks.changed(); hooks.restructured(); }));
      fs.append(sub);
    });
    fs.append(button(`add to ${f.name}`, () => {
      if (!Array.isArray(obj[f.name])) obj[f.name] = list;
      list.push({});
      hooks.changed();
      hooks.restructured();
    }));
    return fs;
  }
  const row = el("label", { class: "field", "data-path": path }, el("span", {}, label));
  row.append(scalarInput(schema, f, obj, hooks));
  return row;
}

function labelOf(schema, recordName, item) {
  const rec = schema.records[recordName];
  const v = rec && rec.label ? item[rec.label] : rec && rec.key ? item[rec.key] : null;
  return v ? ` · ${v}` : "";
}

function button(text, onclick) {
  const b = el("button", { type: "button", class: "small" }, text);
  b.onclick = onclick;
  return b;
}

function set(obj, name, value, hooks) {
  if (value === undefined) delete obj[name];
  else obj[name] = value;
  hooks.changed();
}

function scalarInput(schema, f, obj, hooks) {
  const ty = f.type;
  const cur = obj[f.name];
  if (ty.kind === "enum" || ty.kind === "bool") {
    const options = ty.kind === "bool"
      ? [{ name: "true", code: true }, { name: "false", code: false }]
      : schema.enums[ty.name] || [];
    const sel = el("select");
    sel.append(el("option", { value: "" }, f.optional ? "(missing)" : "(choose)"));
    options.forEach((o, i) => {
      const opt = el("option", { value: String(i) }, `${o.code === true || o.code === false ? o.name : `${o.code} · ${o.name}`}`);
      if (cur === o.code) opt.selected = true;
      sel.append(opt);
    });
    if (cur !== undefined && cur !== null && !options.some((o) => o.code === cur)) {
      // A value the schema does not know: keep it selectable so the form
      // shows what the record says (the evaluation reports it).
      const opt = el("option", { value: "raw" }, `${JSON.stringify(cur)} (not in ${ty.name || "bool"})`);
      opt.selected = true;
      sel.append(opt);
    }
    sel.onchange = () => {
      if (sel.value === "raw") return;
      set(obj, f.name, sel.value === "" ? undefined : options[Number(sel.value)].code, hooks);
    };
    return sel;
  }
  if (ty.kind === "list") {
    const input = el("input", { type: "text", placeholder: "comma-separated" });
    input.value = Array.isArray(cur) ? cur.join(", ") : "";
    input.oninput = () => {
      const items = input.value.split(",").map((s) => s.trim()).filter(Boolean);
      const parsed = ty.of.kind === "int" || ty.of.kind === "money" ? items.map(Number) : items;
      set(obj, f.name, items.length || !f.optional ? parsed : undefined, hooks);
    };
    return input;
  }
  const numeric = ty.kind === "int" || ty.kind === "money";
  const input = el("input", {
    type: numeric ? "number" : "text",
    placeholder: ty.kind === "date" ? "YYYY-MM-DD" : f.optional ? "(missing)" : "",
    min: f.range ? f.range[0] : null,
    max: f.range ? f.range[1] : null,
  });
  input.value = cur === undefined || cur === null ? "" : String(cur);
  input.oninput = () => {
    const v = input.value;
    if (v === "") set(obj, f.name, f.optional ? undefined : "", hooks);
    else set(obj, f.name, numeric && Number.isFinite(Number(v)) ? Number(v) : v, hooks);
  };
  return input;
}
