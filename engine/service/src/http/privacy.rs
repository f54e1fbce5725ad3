//! Personal data kept out of places that do not need it: NIKs and family
//! card numbers masked to their first and last four digits
//! (`3310********0001`), names to their initials (`B***`). Used for
//! exports to roles that do not need to identify people, for error
//! messages that would echo input, and for anything logged.

/// `3310011203150001` → `3310********0001`. Anything of eight characters
/// or fewer is masked whole.
pub fn mask_nik(nik: &str) -> String {
    let chars: Vec<char> = nik.chars().collect();
    let n = chars.len();
    if n <= 8 {
        return "*".repeat(n);
    }
    let head: String = chars.iter().take(4).collect();
    let tail: String = chars.iter().skip(n - 4).collect();
    format!("{head}{}{tail}", "*".repeat(n - 8))
}

/// `Siti Aminah` → `S*** A*****`: each word's initial.
pub fn mask_name(name: &str) -> String {
    name.split(' ')
        .map(|word| {
            let mut chars = word.chars();
            match chars.next() {
                Some(first) => format!("{first}{}", "*".repeat(chars.count())),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The shortest run of digits treated as an identity number in free text:
/// NIKs and family cards have 16, and no count, id or date the service
/// writes has twelve digits.
const ID_DIGITS: usize = 12;

/// Masks every run of twelve or more digits in a text (an error message
/// that quotes input, a log line).
pub fn mask_digits(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
            continue;
        }
        flush(&mut out, &mut run);
        out.push(c);
    }
    flush(&mut out, &mut run);
    out
}

fn flush(out: &mut String, run: &mut String) {
    if run.len() >= ID_DIGITS {
        out.push_str(&mask_nik(run));
    } else {
        out.push_str(run);
    }
    run.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(mask_nik("3310011203150001"), "3310********0001");
        assert_eq!(mask_nik("12345678"), "********");
        assert_eq!(mask_name("Siti Aminah"), "S*** A*****");
        assert_eq!(mask_name("Budi"), "B***");
        assert_eq!(
            mask_digits("nik 3310011203150001, line 12, at 20251001"),
            "nik 3310********0001, line 12, at 20251001"
        );
    }
}
