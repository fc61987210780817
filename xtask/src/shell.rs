//! All human output goes through here, on stderr, with colour only where it helps: on a
//! terminal, never when `CI` or `NO_COLOR` is set or output is piped. Machine output
//! (`--json`) goes to stdout and nowhere else.

use std::fmt::Display;

use anstyle::{AnsiColor, Style};

const STATUS: Style = AnsiColor::Green.on_default().bold();
const WARN: Style = AnsiColor::Yellow.on_default().bold();
const ERROR: Style = AnsiColor::Red.on_default().bold();
const NOTE: Style = AnsiColor::Cyan.on_default().bold();

/// Decide once, at start-up, whether colour is allowed.
pub fn init() {
    if is_ci() || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        anstream::ColorChoice::Never.write_global();
    }
}

/// True in CI (the `CI` variable set to anything but `false`/`0`).
pub fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// A cargo-style status line: a right-aligned verb and a message.
pub fn status(verb: &str, message: impl Display) {
    anstream::eprintln!("{STATUS}{verb:>12}{STATUS:#} {message}");
}

pub fn note(verb: &str, message: impl Display) {
    anstream::eprintln!("{NOTE}{verb:>12}{NOTE:#} {message}");
}

pub fn warn(message: impl Display) {
    anstream::eprintln!("{WARN}warning{WARN:#}: {message}");
}

pub fn error(message: impl Display) {
    anstream::eprintln!("{ERROR}error{ERROR:#}: {message}");
}

/// A line that is neither status nor diagnostic (tables, details).
pub fn line(message: impl Display) {
    anstream::eprintln!("{message}");
}

/// Bold red or green word for pass/fail tables.
pub fn verdict(passed: bool) -> String {
    let (style, word) = if passed {
        (STATUS, "ok")
    } else {
        (ERROR, "FAILED")
    };
    format!("{style}{word}{style:#}")
}

/// A progress bar on an interactive terminal; plain lines everywhere else (CI, pipes, files).
pub struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    pub fn new(total: u64, what: &str) -> Self {
        use std::io::IsTerminal as _;
        if is_ci() || !std::io::stderr().is_terminal() {
            return Self(None);
        }
        let bar = indicatif::ProgressBar::new(total);
        if let Ok(style) = indicatif::ProgressStyle::with_template(&format!(
            "{{bar:30}} {{pos}}/{{len}} {what} {{msg}}"
        )) {
            bar.set_style(style);
        }
        Self(Some(bar))
    }

    pub fn inc(&self, n: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(n);
        }
    }

    pub fn message(&self, message: impl Into<String>) {
        if let Some(bar) = &self.0 {
            bar.set_message(message.into());
        }
    }

    /// A line above the bar (or a plain line without one).
    pub fn line(&self, text: impl Display) {
        match &self.0 {
            Some(bar) => bar.println(anstream::adapter::strip_str(&text.to_string()).to_string()),
            None => line(text),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
