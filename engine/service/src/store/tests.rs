use super::{database_url, redacted_url};

#[test]
fn a_urls_password_is_never_shown() {
    assert_eq!(
        redacted_url("postgres://layak:s3cret@db.example:5432/register?sslmode=disable"),
        "postgres://layak:***@db.example:5432/register?sslmode=disable"
    );
    // A password holding `@` or `:` is hidden whole.
    assert_eq!(
        redacted_url("postgres://layak:a:b@c@db/register"),
        "postgres://layak:***@db/register"
    );
    for shown in [
        "postgres://postgres@127.0.0.1:5433/postgres",
        "postgres:///register?host=/run/postgresql",
        "sqlite://register.db?mode=rwc",
        "register.db",
    ] {
        assert_eq!(redacted_url(shown), shown);
    }
}

#[test]
fn a_path_is_a_sqlite_file_and_a_url_is_kept() {
    assert_eq!(database_url("layak.db"), "sqlite://layak.db?mode=rwc");
    assert_eq!(database_url("postgres://u@h/db"), "postgres://u@h/db");
}
