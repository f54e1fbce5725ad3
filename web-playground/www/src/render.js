// Results, explanations and the "what changed" view, from the decision JSON
// the shim decodes (the CLI's `--format full` and `--format summary`).

const words = {
  en: {
    household: "household", status: "status", reasons: "failures / warnings", VERIFIED: "VERIFIED",
    RETURNED: "RETURNED", eligible: "eligible", not_eligible: "not eligible", undetermined: "undetermined",
    passed: "passed", failed: "failed", year: "year", month: "month", verification: "Verification",
    benefit: "benefit as computed", counted: "counted", not_counted: "not counted", params: "Parameters used",
    missing: "missing", show: "show in source", malformed: "malformed household", overridden: "overridden",
    nothing: "Nothing changed since the baseline.", flipped: "flipped", amount: "amount changed",
    explanation: "explanation changed", why: "why", added: "new household", removed: "household removed",
    checked: "checked",
  },
  id: {
    household: "rumah tangga", status: "status", reasons: "kegagalan / peringatan", VERIFIED: "TERVERIFIKASI",
    RETURNED: "DIKEMBALIKAN", eligible: "layak", not_eligible: "tidak layak", undetermined: "belum dapat ditentukan",
    passed: "lolos", failed: "gagal", year: "tahun", month: "bulan", verification: "Verifikasi",
    benefit: "manfaat terhitung", counted: "dihitung", not_counted: "tidak dihitung", params: "Parameter yang dipakai",
    missing: "data kurang", show: "lihat di aturan", malformed: "rumah tangga tidak valid", overridden: "diubah",
    nothing: "Tidak ada perubahan sejak baseline.", flipped: "berubah status", amount: "nominal berubah",
    explanation: "penjelasan berubah", why: "sebab", added: "rumah tangga baru", removed: "rumah tangga dihapus",
    checked: "diperiksa",
  },
};
const t = (lang, k) => (words[lang] || words.en)[k] || k;

export function money(n, lang) {
  return new Intl.NumberFormat(lang === "id" ? "id-ID" : "en-US").format(n);
}

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("data-")) e.setAttribute(k, String(v));
    else if (k === "onclick") e.onclick = v;
    else e.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) if (c !== null && c !== undefined) e.append(c);
  return e;
}

function eligibilityText(s, lang) {
  if (s.eligibility === "eligible") return `${t(lang, "eligible")} · Rp ${money(s.amount, lang)}/${t(lang, s.per)}`;
  if (s.eligibility === "not_eligible") return t(lang, "not_eligible");
  return `${t(lang, "undetermined")} (${t(lang, "missing")}: ${(s.missing || []).join(", ")})`;
}

function programmesOf(results) {
  const names = new Set();
  for (const line of results) if (line.decision) for (const p of Object.keys(line.decision.programmes)) names.add(p);
  return [...names].sort();
}

/// One row per household: status, codes, and per programme each subject's
/// eligibility and amount.
export function renderResults(table, results, state, onSelect) {
  const lang = state.lang;
  const programmes = programmesOf(results);
  table.textContent = "";
  table.append(
    el("thead", {}, el("tr", {}, el("th", {}, t(lang, "household")), el("th", {}, t(lang, "status")),
      el("th", {}, t(lang, "reasons")), programmes.map((p) => el("th", {}, p)))),
  );
  const body = el("tbody");
  results.forEach((line, i) => {
    const h = state.households[i];
    const id = line.decision ? line.decision.record_id : String((h && h.record_id) ?? `#${i + 1}`);
    const row = el("tr", { "data-household": id, class: i === state.selected ? "selected" : null });
    row.onclick = () => onSelect(i);
    row.append(el("td", {}, id));
    if (!line.decision) {
      row.append(el("td", { class: "bad", colspan: 2 + programmes.length },
        `${t(lang, "malformed")}: ${line.errors.map((e) => `${e.path}: ${e.message}`).join("; ")}`));
      body.append(row);
      return;
    }
    const d = line.decision;
    row.append(el("td", { class: d.status === "VERIFIED" ? "good" : "bad", "data-status": d.status }, t(lang, d.status)));
    const codes = [...d.failures, ...(d.undetermined || []).map((u) => `${u.code}?`)];
    row.append(el("td", {}, codes.length ? el("span", { class: "bad" }, codes.join(", ")) : null,
      codes.length && d.warnings.length ? " · " : null,
      d.warnings.length ? el("span", { class: "warn" }, d.warnings.join(", ")) : null));
    for (const p of programmes) {
      const subjects = d.programmes[p] || [];
      const total = subjects.reduce((sum, s) => sum + (s.eligibility === "eligible" ? s.amount : 0), 0);
      const cell = el("td", {
        "data-household": id, "data-programme": p, "data-amount": total,
        "data-eligible": subjects.some((s) => s.eligibility === "eligible"),
      });
      if (d.status !== "VERIFIED") cell.append("–");
      cell.title = subjects.map((s) => `${s.label || s.subject}: ${eligibilityText(s, lang)}`).join("\n");
      // Per-member programmes have many subjects: one line per outcome.
      const eligible = subjects.filter((s) => s.eligibility === "eligible");
      const undetermined = subjects.filter((s) => s.eligibility === "undetermined");
      if (eligible.length) {
        const same = eligible.every((s) => s.amount === eligible[0].amount);
        const per = t(lang, eligible[0].per);
        cell.append(el("div", { class: "subject good" }, eligible.length > 1 && same
          ? `${eligible.length} × Rp ${money(eligible[0].amount, lang)}/${per}`
          : `Rp ${money(total, lang)}/${per}${eligible.length > 1 ? ` (${eligible.length})` : ""}`));
      }
      if (undetermined.length) cell.append(el("div", { class: "subject warn" }, `${undetermined.length > 1 ? `${undetermined.length} ` : ""}${t(lang, "undetermined")}`));
      if (subjects.length && !eligible.length && !undetermined.length) cell.append(el("div", { class: "subject muted" }, t(lang, "not_eligible")));
      row.append(cell);
    }
    body.append(row);
  });
  table.append(body);
}

function criterionItem(c, lang, criteriaInfo, ruleset, onReveal, failing) {
  const info = criteriaInfo.find((x) => x.ruleset === ruleset && x.code === c.code);
  const bad = c.outcome !== "passed";
  if (bad && info) failing.push(info);
  const li = el("li", { class: `criterion ${c.outcome}`, "data-code": c.code, "data-outcome": c.outcome },
    el("b", {}, c.code), " ", el("span", { class: "outcome" }, t(lang, c.outcome)),
    c.checked !== undefined ? ` (${c.checked} ${t(lang, "checked")})` : null);
  if (c.message) li.append(el("div", { class: "message" }, c.message[lang] ?? c.message.en));
  if (c.missing && c.missing.length) li.append(el("div", { class: "missing" }, `${t(lang, "missing")}: ${c.missing.join(", ")}`));
  if (c.elements && c.elements.length) {
    li.append(el("ul", {}, c.elements.map((e) => el("li", { class: e.outcome },
      el("span", { class: "path" }, e.label || e.key || e.path), ": ", e.message[lang] ?? e.message.en,
      e.missing && e.missing.length ? ` (${t(lang, "missing")}: ${e.missing.join(", ")})` : null))));
  }
  if (bad && info) {
    li.append(" ", el("button", { class: "reveal", onclick: () => onReveal(info) }, `${t(lang, "show")} (${info.file}:${info.line})`));
  }
  return li;
}

/// The explanation tree of one household. Returns the criteria it fails
/// (their source spans), so the page can mark them in the editor.
export function renderExplanation(box, line, lang, criteriaInfo, onReveal) {
  box.textContent = "";
  const failing = [];
  if (!line) return failing;
  if (!line.decision) {
    box.append(el("div", { class: "bad" }, `${t(lang, "malformed")} (line ${line.line})`),
      el("ul", {}, line.errors.map((e) => el("li", {}, el("code", {}, e.path), `: ${e.message}`))));
    return failing;
  }
  const d = line.decision;
  const ver = el("section", { class: "ver" }, el("h3", {}, `${t(lang, "verification")}: `, el("span", { class: d.status === "VERIFIED" ? "good" : "bad" }, t(lang, d.status))));
  for (const r of d.verification) {
    // A verification message says what is wrong: shown for the criteria
    // that did not pass; the passed ones are one line of codes.
    const passed = r.criteria.filter((c) => c.outcome === "passed");
    const other = r.criteria.filter((c) => c.outcome !== "passed");
    ver.append(el("div", { class: "ruleset" }, el("code", {}, `${r.ruleset}${r.path ? ` · ${r.path}` : ""}`),
      el("ul", {}, other.map((c) => criterionItem(c, lang, criteriaInfo, r.ruleset, onReveal, failing)),
        passed.length ? el("li", { class: "criterion passed" }, el("span", { class: "outcome good" }, `${t(lang, "passed")}: `),
          passed.map((c, i) => [i ? ", " : "", el("b", { "data-code": c.code, "data-outcome": "passed" }, c.code)])) : null)));
  }
  box.append(ver);
  for (const [programme, subjects] of Object.entries(d.programmes)) {
    for (const s of subjects) {
      const sec = el("section", { class: "programme", "data-programme": programme, "data-subject": s.subject, "data-eligibility": s.eligibility },
        el("h3", {}, `${programme} · ${s.label ? `${s.label} ` : ""}`, el("code", {}, s.subject), ": ",
          el("span", { class: s.eligibility === "eligible" ? "good" : s.eligibility === "not_eligible" ? "bad" : "warn" }, eligibilityText(s, lang))));
      sec.append(el("ul", {}, (s.criteria || []).map((c) => criterionItem(c, lang, criteriaInfo, s.ruleset, onReveal, failing))));
      if (s.benefit) {
        const b = s.benefit;
        const ben = el("div", { class: "benefit", "data-computed": b.computed },
          `${t(lang, "benefit")}: `, b.computed === null ? t(lang, "undetermined") : `Rp ${money(b.computed, lang)}/${t(lang, s.per)}`);
        if ((b.items || []).length) {
          ben.append(el("ul", {}, b.items.map((it) => el("li", {
            class: `benefit-item ${it.counted ? "counted" : "not-counted"}`,
            "data-label": it.label ?? it.key ?? it.path, "data-value": it.value, "data-counted": it.counted,
          }, `${it.label ?? it.key ?? it.path}: ${it.value === null ? t(lang, "undetermined") : `Rp ${money(it.value, lang)}`} (${t(lang, it.counted ? "counted" : "not_counted")})`))));
        }
        sec.append(ben);
      }
      box.append(sec);
    }
  }
  box.append(el("details", { class: "params-used" }, el("summary", {}, t(lang, "params")),
    el("ul", {}, d.params.map((p) => el("li", { class: p.overridden ? "overridden" : null },
      el("code", {}, p.name), ` = ${JSON.stringify(p.value)}`, p.overridden ? ` (${t(lang, "overridden")})` : ` · ${p.from} · ${p.source}`)))));
  return failing;
}

// ---- what changed ---------------------------------------------------------------

function byId(results) {
  const m = new Map();
  for (const line of results || []) if (line.decision) m.set(line.decision.record_id, line.decision);
  return m;
}

function criteriaMap(list) {
  return new Map((list || []).map((c) => [c.code, c]));
}

/// What makes a subject decision differ: criteria whose outcome changed and
/// benefit items whose value changed.
function whySubject(before, after, lang) {
  const why = [];
  const b = criteriaMap(before.criteria);
  for (const c of after.criteria) {
    const old = b.get(c.code);
    if (old && old.outcome !== c.outcome) {
      why.push(`${c.code}: ${t(lang, old.outcome)} → ${t(lang, c.outcome)}${c.message ? ` (${c.message[lang] ?? c.message.en})` : ""}`);
    }
  }
  const items = new Map(((before.benefit && before.benefit.items) || []).map((i) => [i.path, i]));
  for (const it of (after.benefit && after.benefit.items) || []) {
    const old = items.get(it.path);
    if (old && (old.value !== it.value || old.counted !== it.counted)) {
      const f = (v) => (v === null ? "?" : `Rp ${money(v, lang)}`);
      why.push(`${it.label ?? it.path}: ${f(old.value)} → ${f(it.value)}${it.counted ? "" : ` (${t(lang, "not_counted")})`}`);
    }
  }
  return why;
}

function paramChanges(before, after) {
  const b = new Map(before.params.map((p) => [p.name, p]));
  return after.params.filter((p) => b.has(p.name) && JSON.stringify(b.get(p.name).value) !== JSON.stringify(p.value))
    .map((p) => `${p.name}: ${JSON.stringify(b.get(p.name).value)} → ${JSON.stringify(p.value)}`);
}

export function renderChanges(box, baseline, results, lang) {
  box.textContent = "";
  if (!baseline || !results) return;
  const before = byId(baseline);
  const after = byId(results);
  const rows = [];
  for (const [id, d] of after) {
    const old = before.get(id);
    if (!old) {
      rows.push({ id, kind: "added", text: `${t(lang, "added")}: ${t(lang, d.status)}`, why: [] });
      continue;
    }
    const params = paramChanges(old, d);
    if (old.status !== d.status || JSON.stringify(old.failures) !== JSON.stringify(d.failures)) {
      rows.push({ id, kind: "flipped", text: `${t(lang, old.status)} → ${t(lang, d.status)}`,
        why: [...d.failures.filter((f) => !old.failures.includes(f)).map((f) => `+${f}`), ...old.failures.filter((f) => !d.failures.includes(f)).map((f) => `−${f}`)] });
    }
    for (const [programme, subjects] of Object.entries(d.programmes)) {
      const olds = new Map((old.programmes[programme] || []).map((s) => [s.subject, s]));
      for (const s of subjects) {
        const o = olds.get(s.subject);
        if (!o) continue;
        const who = `${programme} · ${s.label || s.subject}`;
        const why = [...whySubject(o, s, lang), ...params];
        if (o.eligibility !== s.eligibility) {
          rows.push({ id, programme, kind: "flipped", text: `${who}: ${eligibilityText(o, lang)} → ${eligibilityText(s, lang)}`, why });
        } else if (o.amount !== s.amount) {
          rows.push({ id, programme, kind: "amount", text: `${who}: Rp ${money(o.amount ?? 0, lang)} → Rp ${money(s.amount ?? 0, lang)}`, why });
        } else if (JSON.stringify(o.criteria) !== JSON.stringify(s.criteria) || JSON.stringify(o.benefit) !== JSON.stringify(s.benefit)) {
          rows.push({ id, programme, kind: "explanation", text: `${who}: ${eligibilityText(s, lang)}`, why });
        }
      }
    }
  }
  for (const id of before.keys()) if (!after.has(id)) rows.push({ id, kind: "removed", text: t(lang, "removed"), why: [] });
  if (!rows.length) {
    box.append(el("p", { class: "muted" }, t(lang, "nothing")));
    return;
  }
  const counts = ["flipped", "amount", "explanation"].map((k) => `${rows.filter((r) => r.kind === k).length} ${t(lang, k)}`).join(" · ");
  box.append(el("p", {}, counts));
  box.append(el("ul", {}, rows.map((r) => el("li", { class: `change ${r.kind}`, "data-household": r.id, "data-programme": r.programme, "data-kind": r.kind },
    el("b", {}, r.id), ` [${t(lang, r.kind)}] ${r.text}`,
    r.why.length ? el("ul", { class: "why" }, r.why.map((w) => el("li", {}, w))) : null))));
}

// ---- what would change (layak_dsl::whatif through the shim) -------------------

const whatIfWords = {
  en: {
    none: "Nothing to change: the household is verified and every subject is eligible.",
    noOffer: "no single change or pair of changes turns it", budget: "the search stopped at its budget of evaluations",
    together: "all together", time: "With time alone", noTime: "no change before", returnedBy: "returned by",
    apply: "Apply this change to the household", evaluations: "evaluations", given: "given", missingParams: "parameters with no value",
    turns: "turns", takesEffect: "takes effect", notSubject: "no longer a subject", becomes: "becomes a subject",
  },
  id: {
    none: "Tidak ada yang perlu diubah: rumah tangga terverifikasi dan setiap subjek layak.",
    noOffer: "tidak ada satu atau dua perubahan yang mengubahnya", budget: "pencarian berhenti pada batas evaluasinya",
    together: "semuanya sekaligus", time: "Karena waktu saja", noTime: "tidak ada perubahan sebelum", returnedBy: "dikembalikan oleh",
    apply: "Terapkan perubahan ini pada rumah tangga", evaluations: "evaluasi", given: "diisi", missingParams: "parameter tanpa nilai",
    turns: "berumur", takesEffect: "mulai berlaku", notSubject: "bukan subjek lagi", becomes: "menjadi subjek",
  },
};
const w = (lang, k) => (whatIfWords[lang] || whatIfWords.en)[k] || t(lang, k);

function changeText(c) {
  const to = c.to_variant ?? (typeof c.to === "string" ? JSON.stringify(c.to) : String(c.to));
  return `${c.field} = ${to}`;
}

function resultText(r, lang) {
  if (r.status !== "VERIFIED") return `${t(lang, r.status)}${(r.returned_by || []).length ? ` (${w(lang, "returnedBy")} ${r.returned_by.join(", ")})` : ""}`;
  if (!r.eligibility) return t(lang, r.status);
  if (r.eligibility === "eligible") return `${t(lang, "eligible")} · Rp ${money(r.amount ?? 0, lang)}/${t(lang, r.per)}`;
  return `${t(lang, r.eligibility)}${(r.failing || []).length ? ` (${r.failing.join(", ")})` : ""}`;
}

function offerItem(o, lang, where, onApply) {
  const label = o.changes.map(changeText).join(", ");
  const owners = [...new Set(o.changes.map((c) => c.owner).filter(Boolean))];
  const from = o.changes.map((c) => `${c.field}: ${c.from === null ? t(lang, "missing") : JSON.stringify(c.from)}`).join(", ");
  const li = el("li", { class: "offer", "data-change": label, "data-outcome": o.result.eligibility ?? o.result.status, "data-amount": o.result.amount },
    el("button", { class: "apply", title: `${w(lang, "apply")} (${from})`, "data-change": label, ...where, onclick: () => onApply(o.changes) }, label),
    owners.length ? el("small", { class: "muted" }, ` ${owners.join(", ")}`) : null,
    " → ", el("span", { class: `result ${o.result.eligibility === "eligible" || (!o.result.eligibility && o.result.status === "VERIFIED") ? "good" : "warn"}` }, resultText(o.result, lang)));
  if ((o.alternatives || []).length) {
    li.append(el("small", { class: "muted" }, ` (${o.alternatives.map((a) => a.to_variant ?? JSON.stringify(a.to)).join(", ")})`));
  }
  return li;
}

function codeItem(c, lang, where, onApply) {
  return el("li", { class: `criterion ${c.outcome}`, "data-code": c.code },
    el("b", {}, c.code), " ", el("span", { class: "outcome" }, t(lang, c.outcome)),
    c.offers.length ? el("ul", {}, c.offers.map((o) => offerItem(o, lang, { ...where, "data-code": c.code }, onApply)))
      : el("div", { class: "muted" }, w(lang, "noOffer")));
}

function verdictText(v, per, lang) {
  if (!v) return "–";
  if (v.eligibility === "eligible") return `${t(lang, "eligible")} · Rp ${money(v.amount ?? 0, lang)}/${t(lang, per)}`;
  return t(lang, v.eligibility);
}

/// The "what would change" panel of one household: per returned code and
/// per programme subject not eligible, the offered changes (a click applies
/// one to the household) with the outcome the changed household evaluates
/// to; then the dates ahead on which the decision changes by itself.
export function renderWhatIf(box, found, lang, onApply) {
  box.textContent = "";
  if (!found) return;
  if (found.error || found.errors) {
    box.append(el("div", { class: "bad" }, found.error || found.errors.map((e) => `${e.path}: ${e.message}`).join("; ")));
    return;
  }
  const any = (found.record || []).length || Object.keys(found.programmes || {}).length;
  if (!any) box.append(el("p", { class: "muted" }, w(lang, "none")));
  if ((found.record || []).length) {
    const sec = el("section", { class: "whatif-record" }, el("h3", {}, t(lang, "verification")));
    sec.append(el("ul", {}, found.record.map((c) => codeItem(c, lang, { "data-programme": "record" }, onApply))));
    if (found.record_together) sec.append(el("ul", { class: "together" }, el("li", {}, `${w(lang, "together")}:`, el("ul", {}, offerItem(found.record_together, lang, { "data-programme": "record" }, onApply)))));
    if (found.record_budget_reached) sec.append(el("p", { class: "warn budget" }, w(lang, "budget")));
    box.append(sec);
  }
  for (const [programme, subjects] of Object.entries(found.programmes || {})) {
    for (const s of subjects) {
      const where = { "data-programme": programme, "data-subject": s.subject };
      const sec = el("section", { class: "whatif-subject", ...where },
        el("h3", {}, `${programme} · ${s.label ? `${s.label} ` : ""}`, el("code", {}, s.subject), ": ", t(lang, s.eligibility)));
      sec.append(el("ul", {}, (s.criteria || []).map((c) => codeItem(c, lang, where, onApply))));
      if (s.together) sec.append(el("ul", { class: "together" }, el("li", {}, `${w(lang, "together")}:`, el("ul", {}, offerItem(s.together, lang, where, onApply)))));
      if ((s.missing_params || []).length) sec.append(el("p", { class: "warn" }, `${w(lang, "missingParams")}: ${s.missing_params.join(", ")}`));
      if (s.budget_reached) sec.append(el("p", { class: "warn budget" }, w(lang, "budget")));
      box.append(sec);
    }
  }
  const time = found.time;
  if (time) {
    const sec = el("section", { class: "whatif-time" }, el("h3", {}, w(lang, "time")));
    if (!time.changes.length) sec.append(el("p", { class: "muted" }, `${w(lang, "noTime")} ${time.horizon}`));
    sec.append(el("ul", {}, time.changes.map((c) => el("li", { class: "time-change", "data-date": c.date },
      el("b", {}, c.date), ": ",
      c.because.map((b) => (b.kind === "birthday" ? `${b.who ?? b.path} ${w(lang, "turns")} ${b.age}` : `${b.name} = ${JSON.stringify(b.value)} ${w(lang, "takesEffect")}`)).join("; "),
      c.status ? ` · ${t(lang, c.status.from)} → ${t(lang, c.status.to)}` : null,
      el("ul", {}, c.subjects.map((s) => el("li", { "data-programme": s.programme },
        `${s.programme} · ${s.label ?? s.subject}: ${s.from ? verdictText(s.from, s.per, lang) : w(lang, "becomes")} → ${s.to ? verdictText(s.to, s.per, lang) : w(lang, "notSubject")}`,
        (s.components || []).length ? ` (${s.components.map((k) => `${k.who}: ${k.from === null ? "–" : `Rp ${money(k.from, lang)}`} → ${k.to === null ? "–" : `Rp ${money(k.to, lang)}`}`).join(", ")})` : null)))))));
    if (time.budget_reached) sec.append(el("p", { class: "warn budget" }, w(lang, "budget")));
    box.append(sec);
  }
  box.append(el("p", { class: "muted evaluations" }, `${found.evaluations} ${w(lang, "evaluations")}`));
}
