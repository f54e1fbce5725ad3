//! `cargo bench -p layak-bench --bench editor`: what a rule author waits for
//! in an editor (`layak lsp`, the playground), on the shipped rules:
//! diagnostics after an edit (one file parsed again, every file checked),
//! completion after `m.`, hover and go to definition. Target: each under
//! 50 ms median (issue "An editor that knows the rules").
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark fails loudly on a broken fixture"
)]

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use layak_dsl::date::Date;
use layak_dsl::ide::Analysis;

fn editor(c: &mut Criterion) {
    let rules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules");
    let files = layak_host::load::collect_files(&[rules]).unwrap();
    let sources = layak_host::load::read_sources(&files).unwrap();
    let mut analysis = Analysis::new(sources);
    let name = analysis
        .sources()
        .iter()
        .map(|(_, f)| f.name.clone())
        .find(|n| n.ends_with("pkh.lyk"))
        .unwrap();
    let file = analysis.file_id(&name).unwrap();
    let text = analysis.sources().get(file).unwrap().text.clone();
    let at = text.find("  else if is_sd(m)").unwrap();
    let typing = format!("{}  else if m. then Rp 0\n{}", &text[..at], &text[at..]);
    let cursor = at + "  else if m.".len();

    let mut group = c.benchmark_group("editor");
    // Two texts in turn, so that every iteration is a real change.
    let mut flip = false;
    group.bench_function("diagnostics after an edit", |b| {
        b.iter(|| {
            flip = !flip;
            analysis.set_file(&name, if flip { &typing } else { &text });
            black_box(analysis.diagnostics().len())
        })
    });
    analysis.set_file(&name, &typing);
    group.bench_function("completion after m.", |b| {
        b.iter(|| black_box(analysis.completions(file, cursor)))
    });
    analysis.set_file(&name, &text);
    let hover_at = text.find("PKH_ELDERLY_MIN_AGE then").unwrap();
    let as_of = Date::parse("2025-10-01");
    group.bench_function("hover a parameter", |b| {
        b.iter(|| black_box(analysis.hover(file, hover_at, as_of)))
    });
    let call = text.find("age(m)").unwrap();
    group.bench_function("go to definition", |b| {
        b.iter(|| black_box(analysis.definition(file, call)))
    });
    group.finish();
}

criterion_group!(benches, editor);
criterion_main!(benches);
