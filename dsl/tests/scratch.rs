#[test]
fn parse_rules() {
    for e in std::fs::read_dir("../rules").unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "lyk") {
            let text = std::fs::read_to_string(&p).unwrap();
            let (f, d) = layak_dsl::syntax::parse_file(layak_dsl::source::FileId(0), &text);
            let mut s = layak_dsl::source::Sources::new();
            s.add(p.display().to_string(), text);
            println!("{} items={} diags={}", p.display(), f.items.len(), d.len());
            print!("{}", layak_dsl::diagnostic::render_terminal(&s, &d, false));
        }
    }
}
