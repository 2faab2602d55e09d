//! The `boomerang` binary speaks the operator's words: what a value must be and why the one
//! given is not it, never a Rust parser's message; output that says what it is.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};

mod common;
use common::{boomerang, stderr, stdout, write, PURCHASE_HEADER};

/// Words of Rust's parsers that an operator should never have to read.
fn assert_no_rust_words(text: &str) {
    for word in ["invalid characters", "out of range", "socket address", "expected i64", "expected u32", "ParseError"] {
        assert!(!text.contains(word), "{word:?} in: {text}");
    }
}

#[test]
fn a_bad_date_says_which_date_is_wanted_and_why_this_one_is_not_one() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (vec!["sweep", "--date", "yesterday"], "not a date: use a date as YYYY-MM-DD, e.g. 2026-11-24"),
        (vec!["sweep", "--date", "2026-13-01"], "there is no month 13 (months are 01 to 12)"),
        (vec!["report", "--from", "2026-02-30"], "February 2026 has days 01 to 28, so 2026-02-30 is not a date"),
        (vec!["report", "--to", "24.11.2026"], "use a date as YYYY-MM-DD"),
        (vec!["simulate", "--customers", "1", "--days", "1", "--seed", "1", "--start", "2025-04-31"], "April 2025 has days 01 to 30"),
    ];
    for (args, wanted) in cases {
        let out = boomerang(dir.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(wanted), "{args:?}: {}", stderr(&out));
        assert_no_rust_words(&stderr(&out));
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Starts `serve` and returns it with the first line it printed (where it listens).
fn serve(dir: &Path, addr: &str, rust_log: &str) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_boomerang"))
        .args(["serve", "--addr", addr, "--data-dir"])
        .arg(dir)
        .env("RUST_LOG", rust_log)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start serve");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    (child, line)
}

fn get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("the server accepts connections");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn serve_takes_a_bare_port_or_a_host_name() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let (mut child, line) = serve(&dir.path().join("a"), &port.to_string(), "warn");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(line.contains(&format!("listening on http://127.0.0.1:{port} ")), "{line}");

    let port = free_port();
    let (mut child, line) = serve(&dir.path().join("b"), &format!("localhost:{port}"), "warn");
    let answer = get(&format!("localhost:{port}"), "/v1/unsubscribe");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(line.contains(&format!(":{port} ")) && line.contains("listening on http://"), "{line}");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");

    let out = boomerang(dir.path(), &["serve", "--addr", "localhost:http"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("\"http\" is not a port") && stderr(&out).contains("HOST:PORT"), "{}", stderr(&out));
    assert_no_rust_words(&stderr(&out));
}

#[test]
fn a_serve_that_cannot_listen_says_why_and_leaves_no_data_dir_behind() {
    let dir = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let data = dir.path().join("fresh");
    let out = Command::new(env!("CARGO_BIN_EXE_boomerang"))
        .args(["serve", "--addr", &addr, "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(!data.exists(), "a failed serve created {}", data.display());
    assert!(stderr(&out).contains(&format!("cannot listen on {addr}: the port is already in use")), "{}", stderr(&out));
}

#[test]
fn logs_written_to_a_file_or_pipe_carry_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let (mut child, _) = serve(dir.path(), &addr, "info");
    let answer = get(&addr, "/v1/unsubscribe");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    child.kill().unwrap();
    let mut log = String::new();
    child.stderr.take().unwrap().read_to_string(&mut log).unwrap();
    child.wait().unwrap();
    assert!(log.contains("request") && log.contains("/v1/unsubscribe"), "a request was logged: {log}");
    assert!(!log.contains('\u{1b}'), "ANSI escape codes in a redirected log: {log:?}");
}

#[test]
fn semicolon_and_tab_separated_files_are_read() {
    let dir = tempfile::tempdir().unwrap();
    for (name, sep) in [("semicolons.csv", ";"), ("tabs.tsv", "\t")] {
        let text = format!(
            "{}\nS-{name}-1{sep}card-1{sep}1234.50{sep}RUB{sep}2026-11-01T12:00:00+03:00{sep}moscow-1{sep}0\n\
             S-{name}-2{sep}card-1{sep}100{sep}RUB{sep}2026-11-02T12:00:00+03:00{sep}moscow-1{sep}\n",
            PURCHASE_HEADER.replace(',', sep)
        );
        let file = write(dir.path(), name, &text);
        let out = boomerang(dir.path(), &["import", "purchases", &file]);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert!(stdout(&out).contains("2 rows: 2 recorded"), "{name}: {}", stdout(&out));
    }
    // A customers file from Excel in a Russian locale: semicolons, quotes, CRLF.
    let customers = write(
        dir.path(),
        "customers.csv",
        "customer_id;name;email_consent;sms_consent\r\n\"card-2\";\"Петров; Иван\";true;false\r\n",
    );
    let out = boomerang(dir.path(), &["import", "customers", &customers]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("1 created"), "{}", stdout(&out));
}

#[test]
fn with_crlf_line_ends_an_error_names_the_right_line() {
    let dir = tempfile::tempdir().unwrap();
    let rows = [
        "B-1,card-9,100.00,RUB,2026-11-01T12:00:00+03:00,s1,0",
        "B-2,card-9,ten,RUB,2026-11-01T12:00:00+03:00,s1,0",
    ];
    for (name, end) in [("lf.csv", "\n"), ("crlf.csv", "\r\n")] {
        let text = format!("{PURCHASE_HEADER}{end}{}{end}{}{end}", rows[0], rows[1]);
        let file = write(dir.path(), name, &text);
        let out = boomerang(dir.path(), &["import", "purchases", &file]);
        assert!(!out.status.success());
        assert!(stderr(&out).contains("line 3, column amount"), "{name}: the `ten` is on line 3: {}", stderr(&out));
    }
    // A row with a cell too many (a separator inside an unquoted cell) names its line too.
    let text = format!("{PURCHASE_HEADER}\r\n{}\r\n{},extra\r\n", rows[0], rows[0].replace("B-1", "B-3"));
    let file = write(dir.path(), "extra.csv", &text);
    let out = boomerang(dir.path(), &["import", "purchases", &file]);
    assert!(stderr(&out).contains("line 3: the row has 8 cells, the header 7"), "{}", stderr(&out));
}

#[test]
fn without_aws_credentials_the_dynamodb_store_says_so_in_one_line() {
    let home = tempfile::tempdir().unwrap();
    for region in [None, Some("eu-central-1")] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_boomerang"));
        cmd.args(["--store", "dynamodb:demo", "keys", "list"])
            .env_clear()
            .env("HOME", home.path())
            // No instance metadata service here: the SDK's last resort fails at once, with a
            // warning per attempt.
            .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:9");
        if let Some(region) = region {
            cmd.env("AWS_REGION", region);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "one line, no SDK warnings: {err}");
        assert!(err.contains("no AWS credentials were found"), "{err}");
        for how in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_ENDPOINT_URL"] {
            assert!(err.contains(how), "{how}: {err}");
        }
        assert_eq!(err.contains("set AWS_REGION"), region.is_none(), "{err}");
    }
}

#[test]
fn a_report_before_any_sweep_says_no_sweep_has_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = boomerang(dir.path(), &["report"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("No sweep has run on this store yet"), "{}", stdout(&out));
    assert!(!stdout(&out).contains("Eligible customers"), "no table of zeros: {}", stdout(&out));
    // JSON stays JSON (for programs); the note goes to stderr.
    let out = boomerang(dir.path(), &["report", "--json"]);
    assert!(serde_json::from_str::<serde_json::Value>(&stdout(&out)).is_ok(), "{}", stdout(&out));
    assert!(stderr(&out).contains("No sweep has run"), "{}", stderr(&out));
    // After a sweep, a period before it says that no sweep ran in it; the period of the sweep
    // gets the table.
    assert!(boomerang(dir.path(), &["sweep", "--date", "2026-11-01"]).status.success());
    let out = boomerang(dir.path(), &["report", "--from", "2026-11-02", "--to", "2026-11-20"]);
    assert!(stdout(&out).contains("No sweep ran from 2026-11-02 to 2026-11-20: the last swept date is 2026-11-01"), "{}", stdout(&out));
    let out = boomerang(dir.path(), &["report", "--from", "2026-10-20", "--to", "2026-11-01"]);
    assert!(stdout(&out).contains("Eligible customers") && !stdout(&out).contains("No sweep"), "{}", stdout(&out));
}

#[test]
fn simulate_help_tells_the_truth_about_its_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let help = stdout(&boomerang(dir.path(), &["simulate", "--help"]));
    assert!(!help.contains("[default: .boomerang]"), "{help}");
    assert!(help.contains("for `simulate`, a fresh temporary folder unless --data-dir is given"), "{help}");
}

#[test]
fn a_dry_run_labels_its_columns_as_what_would_be_sent() {
    let dir = tempfile::tempdir().unwrap();
    let out = boomerang(dir.path(), &["sweep", "--date", "2026-11-01", "--dry-run"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let header = stdout(&out).lines().find(|l| l.starts_with("TRIGGER")).unwrap_or_default().to_owned();
    assert!(header.contains("WOULD_EMAIL") && header.contains("WOULD_SMS") && header.contains("WOULD_CREDIT"), "{header}");
    assert!(!header.contains("SENT") && !header.contains("FAILED"), "a dry run sends nothing: {header}");
    let out = boomerang(dir.path(), &["sweep", "--date", "2026-11-01", "--dry-run", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["dry_run"], true);
    assert_eq!(json["triggers"]["lapsed_30"]["unknown"], 0, "{json}");
}

/// Rust's and serde's words, and backticks, which the writer of a program file never reads.
fn assert_no_serde_words(text: &str) {
    assert_no_rust_words(text);
    for word in ["expected u8", "expected u64", "floating point", "invalid type", "invalid value", "unknown variant", "struct ", "`", ".?"] {
        assert!(!text.contains(word), "{word:?} in: {text}");
    }
}

#[test]
fn config_check_words_its_errors_for_the_file_writer() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("earn_percent = \"5\"", "earn_percent: must be a whole number, e.g. earn_percent = 5 (without quotes); got the string \"5\""),
        ("earn_percent = -1", "earn_percent: must be a whole number from 0 up; got -1"),
        ("earn_percent = 2.5", "earn_percent: must be a whole number; got 2.5"),
        ("[triggers.lapsed_60]\nholdout_percent = 300", "triggers.lapsed_60.holdout_percent: must be a percentage from 0 to 100; got 300"),
        ("timezone = \"Moscow\"", "timezone: \"Moscow\" is not an IANA time zone name; did you mean Europe/Moscow?"),
        ("timezone = \"europe/moscow\"", "timezone: \"europe/moscow\" is not an IANA time zone name; did you mean Europe/Moscow?"),
        ("timezone = \"Europe/Moskow\"", "timezone: \"Europe/Moskow\" is not an IANA time zone name; did you mean Europe/Moscow?"),
        ("timezone = \"Mars/Base\"", "timezone: \"Mars/Base\" is not an IANA time zone name; write it as Area/City, e.g. Europe/Moscow"),
        ("default_locale = \"fr\"", "default_locale: \"fr\" is not a supported locale; the supported ones are ru, en"),
        (
            "[triggers.birthday.templates.fr]\nsms = \"Joyeux anniversaire\"",
            "triggers.birthday.templates.fr: \"fr\" is not a supported locale; the supported ones are ru, en",
        ),
        ("earn_precent = 5", "earn_precent: unknown key; did you mean earn_percent?"),
    ];
    for (text, wanted) in cases {
        let file = write(dir.path(), "program.toml", text);
        let out = boomerang(dir.path(), &["config", "check", &file]);
        assert_eq!(out.status.code(), Some(2), "{text:?}: {}", stderr(&out));
        assert_eq!(stderr(&out), format!("error: {file}: {wanted}\n"), "{text:?}");
        assert_no_serde_words(&stderr(&out));
    }
}

#[test]
fn an_import_names_every_bad_row_up_to_twenty() {
    let dir = tempfile::tempdir().unwrap();
    let header = "customer_id,name,birthday,locale";
    let mut text = format!("{header}\n");
    for line in 2..=8 {
        let birthday = match line {
            3 => "1990-02-30",
            7 => "14.03.1990",
            _ => "1990-03-14",
        };
        text += &format!("card-{line},Anna,{birthday},ru\n");
    }
    let file = write(dir.path(), "customers.csv", &text);
    let out = boomerang(dir.path(), &["import", "customers", &file]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "error: {file}: 2 rows cannot be imported (nothing was imported):\n  \
             line 3, column birthday: birthday 1990-02-30 is not a date: February 1990 has days 01 to 28\n  \
             line 7, column birthday: birthday must be a date as YYYY-MM-DD, e.g. 1990-03-14; got \"14.03.1990\"\n"
        )
    );

    let mut text = format!("{PURCHASE_HEADER}\n");
    for n in 1..=25 {
        text += &format!("T-{n},card-1,{n}.999,RUB,2026-11-01T12:00:00+03:00,s1,\n");
    }
    let file = write(dir.path(), "purchases.csv", &text);
    let out = boomerang(dir.path(), &["import", "purchases", &file]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 22, "a heading, 20 rows and the rest counted: {err}");
    assert_eq!(lines[0], format!("error: {file}: 25 rows cannot be imported (nothing was imported):"));
    for (n, line) in lines[1..21].iter().enumerate() {
        assert!(line.starts_with(&format!("  line {}, column amount: amount has more than 2 decimals", n + 2)), "{line}");
    }
    assert_eq!(lines[21], "  and 5 more rows");
    // Nothing of the bad customers file landed: card-2, a good row of it, is new.
    let out = boomerang(dir.path(), &["import", "customers", &write(dir.path(), "ok.csv", "customer_id\ncard-2\n")]);
    assert!(stdout(&out).contains("1 rows: 1 created"), "{}", stdout(&out));
}

#[test]
fn a_decimal_comma_in_a_semicolon_file_is_read_as_excel_means_it() {
    use boomerang_core::ports::ReportStore;
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{}\nK-1;card-1;1234,50;RUB;2026-11-01T12:00:00+03:00;moscow-1;\n",
        PURCHASE_HEADER.replace(',', ";")
    );
    let file = write(dir.path(), "excel.csv", &text);
    let out = boomerang(dir.path(), &["import", "purchases", &file]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("1 rows: 1 recorded"), "{}", stdout(&out));
    let store = boomerang_sqlite::SqliteStore::open(dir.path()).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (card, day) = (boomerang_core::domain::ids::CustomerId::parse("card-1").unwrap(), "2026-11-01".parse().unwrap());
    let receipts = runtime.block_on(store.receipts_of(&card, day, day)).unwrap();
    let amounts: Vec<(&str, u64)> = receipts.iter().map(|r| (r.receipt_id.as_str(), r.amount_minor)).collect();
    assert_eq!(amounts, vec![("K-1", 123_450)]);
}

#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["report", "--json"][..], &["report"], &["config", "show"], &["keys", "list"]] {
        // The reader is gone before the command writes a byte: every write fails with EPIPE.
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_boomerang"))
            .args(args)
            .env("BOOMERANG_DATA_DIR", dir.path())
            .env("RUST_LOG", "warn")
            .stdout(writer)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked") && !stderr(&out).contains("error"), "{args:?}: {}", stderr(&out));
    }
}
