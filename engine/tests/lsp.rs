//! `layak lsp` driven through real JSON-RPC over stdio, as an editor
//! drives it: the shipped rules open with no diagnostics; a misspelt field
//! gets E0104 with "did you mean" and a quick fix that applies; hover,
//! completion, go to definition, references, rename, symbols, semantic
//! tokens and formatting answer on the shipped rules.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Client {
    child: Child,
    stdin: ChildStdin,
    messages: Receiver<Value>,
    next_id: i64,
    /// Notifications read while waiting for a response.
    notifications: Vec<Value>,
}

impl Client {
    fn start(root: &Path) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_layak"))
            .arg("lsp")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, messages) = channel();
        std::thread::spawn(move || {
            loop {
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if stdout.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(n) = line.strip_prefix("Content-Length: ") {
                        length = n.parse().unwrap();
                    }
                }
                let mut body = vec![0; length];
                stdout.read_exact(&mut body).unwrap();
                if tx.send(serde_json::from_slice(&body).unwrap()).is_err() {
                    return;
                }
            }
        });
        let mut client = Client {
            child,
            stdin,
            messages,
            next_id: 1,
            notifications: Vec::new(),
        };
        let init = client.request(
            "initialize",
            json!({
                "processId": null,
                "rootUri": uri(root),
                "capabilities": { "general": { "positionEncodings": ["utf-16"] } },
                "initializationOptions": { "asOf": "2025-10-01" },
            }),
        );
        assert_eq!(init["capabilities"]["positionEncoding"], "utf-16");
        assert_eq!(
            init["capabilities"]["renameProvider"]["prepareProvider"],
            true
        );
        client.notify("initialized", json!({}));
        client
    }

    fn send(&mut self, message: &Value) {
        let body = message.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn next(&mut self) -> Value {
        match self.messages.recv_timeout(Duration::from_secs(30)) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => panic!("no message from `layak lsp` in 30 s"),
            Err(RecvTimeoutError::Disconnected) => panic!("`layak lsp` closed its output"),
        }
    }

    /// Sends a request and waits for its response; the result, or the
    /// error object as `{"error": ...}`.
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        loop {
            let m = self.next();
            if m["id"] == json!(id) {
                return match m.get("error") {
                    Some(e) => json!({ "error": e }),
                    None => m["result"].clone(),
                };
            }
            self.notifications.push(m);
        }
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({ "jsonrpc": "2.0", "method": method, "params": params }));
    }

    /// The diagnostics last published for a file. The server answers in
    /// order, so once a request sent now has its answer, every
    /// notification of the changes before it has been read.
    fn diagnostics(&mut self, file: &Path) -> Vec<Value> {
        self.request(
            "textDocument/documentSymbol",
            json!({ "textDocument": { "uri": uri(file) } }),
        );
        let want = uri(file);
        let (mine, others): (Vec<Value>, Vec<Value>) = std::mem::take(&mut self.notifications)
            .into_iter()
            .partition(|m| {
                m["method"] == "textDocument/publishDiagnostics" && m["params"]["uri"] == want
            });
        self.notifications = others;
        let last = mine
            .into_iter()
            .last()
            .unwrap_or_else(|| panic!("no diagnostics were published for {want}"));
        last["params"]["diagnostics"].as_array().unwrap().clone()
    }

    fn open(&mut self, file: &Path, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri(file), "languageId": "layak", "version": 1, "text": text } }),
        );
    }

    fn change(&mut self, file: &Path, version: i64, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri(file), "version": version }, "contentChanges": [{ "text": text }] }),
        );
    }

    fn at(&mut self, method: &str, file: &Path, (line, character): (usize, usize)) -> Value {
        self.request(
            method,
            json!({ "textDocument": { "uri": uri(file) }, "position": { "line": line, "character": character } }),
        )
    }
}

fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

fn rules() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../rules")
        .canonicalize()
        .unwrap()
}

/// The line and UTF-16 column of the `n`-th `needle` in `text`, plus `plus`
/// columns.
fn find(text: &str, needle: &str, n: usize, plus: usize) -> (usize, usize) {
    let offset = text.match_indices(needle).nth(n).unwrap().0;
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let column = before.rsplit('\n').next().unwrap().encode_utf16().count();
    (line, column + plus)
}

/// Applies LSP text edits (one file) to a text.
fn apply(text: &str, edits: &[Value]) -> String {
    let offset = |p: &Value| {
        let (line, col) = (
            p["line"].as_u64().unwrap() as usize,
            p["character"].as_u64().unwrap() as usize,
        );
        let start: usize = text.split_inclusive('\n').take(line).map(str::len).sum();
        let line_text = text[start..].split('\n').next().unwrap();
        let mut units = 0;
        let mut at = line_text.len();
        for (i, c) in line_text.char_indices() {
            if units >= col {
                at = i;
                break;
            }
            units += c.len_utf16();
        }
        start + at
    };
    let mut edits: Vec<(usize, usize, String)> = edits
        .iter()
        .map(|e| {
            (
                offset(&e["range"]["start"]),
                offset(&e["range"]["end"]),
                e["newText"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    edits.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut out = text.to_string();
    for (start, end, new) in edits {
        out.replace_range(start..end, &new);
    }
    out
}

#[test]
fn an_editor_session_on_the_shipped_rules() {
    let root = rules();
    let (pkh, common) = (root.join("pkh.lyk"), root.join("common.lyk"));
    let pkh_text = std::fs::read_to_string(&pkh).unwrap();
    let common_text = std::fs::read_to_string(&common).unwrap();
    let mut lsp = Client::start(&root);

    // The shipped rules: no diagnostics.
    lsp.open(&pkh, &pkh_text);
    assert_eq!(lsp.diagnostics(&pkh), Vec::<Value>::new());

    // `desl`: E0104 with "did you mean", and a quick fix that applies.
    lsp.open(&common, &common_text);
    assert_eq!(lsp.diagnostics(&common), Vec::<Value>::new());
    let broken = common_text.replacen("f.desil in", "f.desl in", 1);
    let started = Instant::now();
    lsp.change(&common, 2, &broken);
    let diagnostics = lsp.diagnostics(&common);
    eprintln!("diagnostics after an edit: {:?}", started.elapsed());
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    let d = &diagnostics[0];
    assert_eq!(d["code"], "E0104");
    assert_eq!(d["severity"], 1);
    assert!(
        d["message"]
            .as_str()
            .unwrap()
            .contains("did you mean `desil`?"),
        "{d}"
    );
    let (line, col) = find(&broken, "f.desl in", 0, 2);
    assert_eq!(
        d["range"]["start"],
        json!({ "line": line, "character": col })
    );
    let actions = lsp.request(
        "textDocument/codeAction",
        json!({ "textDocument": { "uri": uri(&common) }, "range": d["range"], "context": { "diagnostics": [d] } }),
    );
    assert_eq!(actions.as_array().unwrap().len(), 1, "{actions}");
    assert_eq!(actions[0]["title"], "Change to `desil`");
    assert_eq!(actions[0]["kind"], "quickfix");
    let edits = actions[0]["edit"]["changes"][uri(&common)]
        .as_array()
        .unwrap()
        .clone();
    let fixed = apply(&broken, &edits);
    assert_eq!(fixed, common_text);
    lsp.change(&common, 3, &fixed);
    assert_eq!(lsp.diagnostics(&common), Vec::<Value>::new());

    // Hover a parameter: its value on the as-of date, with its source.
    let hover = lsp.at(
        "textDocument/hover",
        &pkh,
        find(&pkh_text, "PKH_ELDERLY_MIN_AGE then", 0, 2),
    );
    let markdown = hover["contents"]["value"].as_str().unwrap();
    assert_eq!(hover["contents"]["kind"], "markdown");
    assert!(markdown.contains("**70** on 2025-10-01"), "{markdown}");
    assert!(markdown.contains("Pedoman Umum PKH 2021"), "{markdown}");

    // Go to definition across files.
    let def = lsp.at(
        "textDocument/definition",
        &pkh,
        find(&pkh_text, "age(m)", 0, 1),
    );
    assert_eq!(def["uri"], uri(&common));
    let (line, col) = find(&common_text, "def age", 0, 4);
    assert_eq!(
        def["range"]["start"],
        json!({ "line": line, "character": col })
    );

    // References of a parameter.
    let refs = lsp.request(
        "textDocument/references",
        json!({ "textDocument": { "uri": uri(&pkh) }, "position": { "line": find(&pkh_text, "PKH_MAX_COMPONENTS", 0, 0).0, "character": 7 }, "context": { "includeDeclaration": true } }),
    );
    assert_eq!(refs.as_array().unwrap().len(), 2, "{refs}");

    // Completion after `m.`: the fields of Member.
    let at = pkh_text.find("  else if is_sd(m)").unwrap();
    let typing = format!(
        "{}  else if m. then Rp 0\n{}",
        &pkh_text[..at],
        &pkh_text[at..]
    );
    lsp.change(&pkh, 2, &typing);
    assert!(!lsp.diagnostics(&pkh).is_empty());
    let started = Instant::now();
    let items = lsp.at(
        "textDocument/completion",
        &pkh,
        find(&typing, "if m. then", 0, 5),
    );
    eprintln!("completion: {:?}", started.elapsed());
    let labels: Vec<&str> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["label"].as_str().unwrap())
        .collect();
    for field in ["nik", "birth_date", "sex", "school", "difficulty"] {
        assert!(labels.contains(&field), "{field} not in {labels:?}");
    }
    assert!(
        items.as_array().unwrap().iter().all(|i| i["kind"] == 5),
        "{items}"
    );
    lsp.change(&pkh, 3, &pkh_text);
    assert_eq!(lsp.diagnostics(&pkh), Vec::<Value>::new());

    // Rename a definition across files: every file that calls `age`.
    let prepared = lsp.at(
        "textDocument/prepareRename",
        &common,
        find(&common_text, "def age", 0, 5),
    );
    assert_eq!(prepared["start"]["character"], 4);
    let rename = lsp.request(
        "textDocument/rename",
        json!({ "textDocument": { "uri": uri(&common) }, "position": { "line": find(&common_text, "def age", 0, 0).0, "character": 5 }, "newName": "age_in_years" }),
    );
    let changes = rename["changes"].as_object().unwrap();
    assert!(changes.len() >= 3, "{:?}", changes.keys());
    let renamed_pkh = apply(&pkh_text, changes[&uri(&pkh)].as_array().unwrap());
    assert!(renamed_pkh.contains("age_in_years(m) > 21") && !renamed_pkh.contains(" age(m)"));
    let refused = lsp.request(
        "textDocument/rename",
        json!({ "textDocument": { "uri": uri(&common) }, "position": { "line": find(&common_text, "def age", 0, 0).0, "character": 5 }, "newName": "in_school" }),
    );
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("already declared"),
        "{refused}"
    );

    // Outline, semantic tokens and formatting of a shipped file.
    let symbols = lsp.request(
        "textDocument/documentSymbol",
        json!({ "textDocument": { "uri": uri(&pkh) } }),
    );
    let names: Vec<&str> = symbols
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"pkh_component") && names.contains(&"pkh"),
        "{names:?}"
    );
    let tokens = lsp.request(
        "textDocument/semanticTokens/full",
        json!({ "textDocument": { "uri": uri(&pkh) } }),
    );
    let data = tokens["data"].as_array().unwrap();
    assert!(
        data.len().is_multiple_of(5) && data.len() > 5 * 50,
        "{tokens}"
    );
    // The first is `PKH_ELDERLY_MIN_AGE` declared on line 5 (from 0: 4),
    // column 6, 19 long: a variable (4), declaration and readonly (0b11).
    assert_eq!(
        data[..5],
        [json!(4), json!(6), json!(19), json!(4), json!(3)]
    );
    let formatting = lsp.request(
        "textDocument/formatting",
        json!({ "textDocument": { "uri": uri(&pkh) }, "options": { "tabSize": 2, "insertSpaces": true } }),
    );
    assert_eq!(formatting, json!([]));

    // An unknown method is an error, not a crash; then a clean exit.
    let unknown = lsp.request("textDocument/inlayHint", json!({}));
    assert_eq!(unknown["error"]["code"], -32601);
    lsp.request("shutdown", Value::Null);
    lsp.notify("exit", Value::Null);
    let status = lsp.child.wait().unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn a_file_from_another_directory_is_checked_with_its_own_rules() {
    let other = tempfile_dir();
    let broken = other.join("alone.lyk");
    let text = "record R key id { id: text }\nsubject r: R\ndef f(x: R): int = len(x.idd)\n";
    std::fs::write(&broken, text).unwrap();
    let root = rules();
    let mut lsp = Client::start(&root);
    // Its own directory: E0104 for `idd`, not the shipped rules' names.
    lsp.open(&broken, text);
    let diagnostics = lsp.diagnostics(&broken);
    let codes: Vec<&str> = diagnostics
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["W0001", "E0104"], "{diagnostics:#?}");
    assert!(
        diagnostics[1]["message"]
            .as_str()
            .unwrap()
            .contains("did you mean `id`?")
    );
    // A file written next to it on disk, which the editor watches.
    let second = other.join("second.lyk");
    std::fs::write(&second, "def g(x: R): bool = x.id == 1\n").unwrap();
    lsp.notify(
        "workspace/didChangeWatchedFiles",
        json!({ "changes": [{ "uri": uri(&second), "type": 1 }] }),
    );
    let codes: Vec<String> = lsp
        .diagnostics(&second)
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect();
    assert!(codes.contains(&"E0101".to_string()), "{codes:?}");
    // Back to the shipped rules: they check clean, and the other
    // directory's diagnostics are cleared.
    let pkh = root.join("pkh.lyk");
    lsp.open(&pkh, &std::fs::read_to_string(&pkh).unwrap());
    assert_eq!(lsp.diagnostics(&pkh), Vec::<Value>::new());
    assert_eq!(lsp.diagnostics(&broken), Vec::<Value>::new());
    assert_eq!(lsp.diagnostics(&second), Vec::<Value>::new());
    lsp.request("shutdown", Value::Null);
    lsp.notify("exit", Value::Null);
    assert!(lsp.child.wait().unwrap().success());
    std::fs::remove_dir_all(&other).unwrap();
}

/// A fresh directory under the system's temporary folder.
fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("layak-lsp-{}-{}", std::process::id(), line!()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.canonicalize().unwrap()
}
