//! What the CLI's integration tests share: running the built `boomerang` and reading its output.

#![allow(dead_code)] // each test binary uses its own part of this module

use std::path::Path;
use std::process::{Command, Output};

pub fn boomerang(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_boomerang"))
        .args(args)
        .env("BOOMERANG_DATA_DIR", data_dir)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run boomerang")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

/// The header of a whole purchases file.
pub const PURCHASE_HEADER: &str = "receipt_id,customer_id,amount,currency,occurred_at,store_id,redeem_points";

/// The header of a whole customers file.
pub const CUSTOMER_HEADER: &str =
    "customer_id,phone,email,name,birthday,email_consent,sms_consent,preferred_channel,locale";

/// Writes the CSV file `name` in `dir`: `header`, then `rows`, each line ended by `\n`.
pub fn csv(dir: &Path, name: &str, header: &str, rows: &[&str]) -> String {
    let lines: String = std::iter::once(header).chain(rows.iter().copied()).map(|line| format!("{line}\n")).collect();
    write(dir, name, &lines)
}
