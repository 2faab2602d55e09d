//! What the CLI's integration tests share: running the built `boomerang` and reading its output.

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
