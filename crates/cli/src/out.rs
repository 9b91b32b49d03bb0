//! Everything the CLI prints goes through here: results to stdout, progress and errors to
//! stderr. Under `--json` stdout holds exactly one JSON document per command (its result, with
//! the gateway API's field names) and every text line goes to stderr instead.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use indicatif::{ProgressBar, ProgressStyle};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

static JSON: AtomicBool = AtomicBool::new(false);

/// Switches results to JSON (`--json`): [`result`] prints its value, [`line`] goes to stderr.
pub fn set_json(on: bool) {
    JSON.store(on, Ordering::Relaxed);
}

/// Whether results print as JSON.
pub fn json_mode() -> bool {
    JSON.load(Ordering::Relaxed)
}

/// Prints a command's result: `v` as JSON under `--json`, else what `text` prints.
pub fn result(v: serde_json::Value, text: impl FnOnce()) {
    if json_mode() {
        json(&v);
    } else {
        text();
    }
}

/// Prints one line of results (to stderr under `--json`, where stdout holds the JSON result).
pub fn line(s: impl AsRef<str>) {
    if json_mode() {
        eprintln!("{}", s.as_ref());
    } else {
        println!("{}", s.as_ref());
    }
}

/// Prints a JSON value, pretty.
pub fn json(v: &serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

/// Prints a note to stderr.
pub fn note(s: impl AsRef<str>) {
    eprintln!("{}", s.as_ref());
}

/// Prints an error and its causes (under `--json`, on stderr as the gateway's error body:
/// `{"error": {"code": "command_failed", "message": …, "causes": […]}}`).
pub fn error(e: &eyre::Report) {
    if json_mode() {
        let causes: Vec<String> = e.chain().skip(1).map(ToString::to_string).collect();
        let v = serde_json::json!({
            "error": { "code": "command_failed", "message": e.to_string(), "causes": causes }
        });
        eprintln!("{}", serde_json::to_string(&v).unwrap_or_default());
        return;
    }
    eprintln!("error: {e}");
    for cause in e.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
}

/// A spinner on stderr (drawn only on a terminal).
pub fn spinner(msg: &str) -> ProgressBar {
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.set_message(msg.to_owned());
    pb.enable_steady_tick(Duration::from_millis(100));
    pb
}

/// A progress bar on stderr of `len` units (drawn only on a terminal), with a rate and an
/// estimate of the time left.
pub fn bar(len: u64, msg: &str) -> ProgressBar {
    let pb = ProgressBar::new(len);
    pb.set_style(
        ProgressStyle::with_template("{msg} [{elapsed_precise}] {wide_bar} {percent}% (eta {eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.set_message(msg.to_owned());
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

/// Renders a table with a header row; columns padded to their widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let fmt_row = |cells: Vec<&str>| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_owned()
    };
    let mut s = fmt_row(header.to_vec());
    s.push('\n');
    s.push_str(
        &widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("  "),
    );
    for r in rows {
        s.push('\n');
        s.push_str(&fmt_row(r.iter().map(String::as_str).collect()));
    }
    s
}
