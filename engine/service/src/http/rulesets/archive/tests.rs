use super::read_files;

/// An archive of `(name, entry type, bytes)`, the names written into the
/// headers as given (a `./` prefix kept, as `tar -C rules -c .` writes it).
fn archive(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, kind, data) in entries {
        let mut header = tar::Header::new_ustar();
        header.as_mut_bytes()[..name.len()].copy_from_slice(name.as_bytes());
        header.set_entry_type(*kind);
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append(&header, *data).unwrap();
    }
    builder.into_inner().unwrap()
}

const FILE: tar::EntryType = tar::EntryType::Regular;
const DIR: tar::EntryType = tar::EntryType::Directory;

#[test]
fn keeps_what_layak_check_reads_and_skips_the_rest() {
    let bytes = archive(&[
        ("./", DIR, b""),
        ("./schema.lyk", FILE, b"a"),
        ("./tables/", DIR, b""),
        ("./tables/regions.txt", FILE, b"b"),
        ("./tests/samples.ndjson", FILE, b"{}"),
        ("./tests/case.lyk", FILE, b"c"),
        ("./.git/x.lyk", FILE, b"d"),
        ("./target/y.txt", FILE, b"e"),
        ("./README.md", FILE, b"f"),
        ("pkh.lyk", FILE, b"g"),
        ("./link.lyk", tar::EntryType::Symlink, b""),
        ("./._schema.lyk", FILE, b"\x00\x05\x16\x07"),
    ]);
    let files = read_files(&bytes).unwrap();
    let names: Vec<(&str, &str)> = files
        .iter()
        .map(|f| (f.name.as_str(), f.text.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("schema.lyk", "a"),
            ("tables/regions.txt", "b"),
            ("pkh.lyk", "g")
        ]
    );
}

#[test]
fn an_archive_of_one_folder_is_read_as_that_folder() {
    // As the playground's "Download rules" writes it.
    let bytes = archive(&[
        ("rules/schema.lyk", FILE, b"a"),
        ("rules/tables/regions.txt", FILE, b"b"),
        ("rules/tests/case.lyk", FILE, b"c"),
    ]);
    let names: Vec<String> = read_files(&bytes)
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(names, ["schema.lyk", "tables/regions.txt"]);
    // Files in two folders keep their names.
    let bytes = archive(&[("a/x.lyk", FILE, b"a"), ("b/y.lyk", FILE, b"b")]);
    let names: Vec<String> = read_files(&bytes)
        .unwrap()
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(names, ["a/x.lyk", "b/y.lyk"]);
}

#[test]
fn refuses_what_cannot_be_a_rules_directory() {
    let junk = read_files(&[7u8; 2048]).unwrap_err();
    assert!(junk.starts_with("the body is not a tar archive"), "{junk}");

    let gzip = read_files(&[0x1f, 0x8b, 8, 0]).unwrap_err();
    assert!(gzip.contains("gzip"), "{gzip}");

    let latin1 = read_files(&archive(&[("./a.lyk", FILE, b"caf\xe9")])).unwrap_err();
    assert_eq!(latin1, "`a.lyk` is not UTF-8 text (byte 3)");

    let no_rules = read_files(&archive(&[("./t.txt", FILE, b"x")])).unwrap_err();
    assert!(
        no_rules.starts_with("the archive has no rule file"),
        "{no_rules}"
    );
    assert!(read_files(b"").is_err());
}
