#[test]
fn bad() {
    let text = std::fs::read_to_string("/tmp/bad.lyk").unwrap();
    let (f, d) = layak_dsl::syntax::parse_file(layak_dsl::source::FileId(0), &text);
    let mut s = layak_dsl::source::Sources::new();
    s.add("bad.lyk", text);
    println!("items={}", f.items.len());
    print!("{}", layak_dsl::diagnostic::render_terminal(&s, &d, false));
}
