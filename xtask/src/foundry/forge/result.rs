//! Reading the result object of `forge script --json` without walking its call traces: the
//! fields the xtask uses, from the result line's two ends (in memory or in the scratch file
//! forge wrote), with the whole parse as the fallback.

use std::path::Path;

use alloy::primitives::Bytes;
use serde::Deserialize;

pub(super) fn read_lossy(path: &Path) -> std::io::Result<String> {
    let bytes = std::fs::read(path)?;
    Ok(String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// The fields of forge's result object that the xtask uses. Everything else (`traces`, tens of
/// megabytes for a batch of scenarios, `raw_logs`, ...) is skipped while parsing, never built
/// as a JSON tree: the xtask's memory stays flat whatever the scripts do.
#[derive(Debug, Deserialize)]
struct RawResult {
    success: bool,
    gas_used: u64,
    #[serde(default)]
    returned: Option<Bytes>,
    #[serde(default)]
    logs: Vec<String>,
}

/// The result object's fields before `traces`: `logs` (and `returns`, skipped).
#[derive(Debug, Deserialize)]
struct RawHead {
    logs: Vec<String>,
}

/// The result object's fields after `traces`, in forge's order.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTail {
    gas_used: u64,
    #[serde(default, rename = "labeled_addresses")]
    _labeled_addresses: serde::de::IgnoredAny,
    #[serde(default)]
    returned: Option<Bytes>,
    #[serde(default, rename = "address")]
    _address: serde::de::IgnoredAny,
}

/// The result line read without walking its traces. forge writes the object's fields in one
/// order, `logs`, `returns`, `success`, `raw_logs`, `traces`, `gas_used`, `labeled_addresses`,
/// `returned`, `address`, and a key's quotes appear unescaped only as a key: so the first
/// `,"success":` is the object's own (before it only logs and decoded returns, whose keys are
/// `results`, `internal_type` and `value`), and the last `,"gas_used":` is the object's own
/// (every trace node's `gas_used` comes before it). The head up to `success` and the tail from
/// `gas_used` are parsed as objects of their own; the tail must hold exactly forge's last four
/// fields. A batch's traces are tens of megabytes, which the xtask's unoptimised build takes
/// seconds to parse per block (and the second pass, [`revert_paths`], is only needed when a
/// scenario reverted). `None` when the line is not laid out that way (the full parse decides).
fn parse_result_ends(line: &str) -> Option<RawResult> {
    let line = line.trim();
    parse_result_parts(line, line)
}

/// [`parse_result_ends`] from a prefix `head` and a suffix `tail` of one result line (each may
/// be the whole line): the first `,"success":` of a prefix is the line's first when the prefix
/// holds it, and the last `,"gas_used":` of a suffix is the line's last. `None` also when a
/// part is too short to hold its field.
fn parse_result_parts(head: &str, tail: &str) -> Option<RawResult> {
    const SUCCESS: &str = ",\"success\":";
    const RAW_LOGS: &str = ",\"raw_logs\":";
    const GAS_USED: &str = ",\"gas_used\":";
    let line = head;
    let success_at = line.find(SUCCESS)?;
    let after_success = &line[success_at + SUCCESS.len()..];
    let success = if after_success.starts_with(&format!("true{RAW_LOGS}")) {
        true
    } else if after_success.starts_with(&format!("false{RAW_LOGS}")) {
        false
    } else {
        return None;
    };
    let head: RawHead = serde_json::from_str(&format!("{}}}", &line[..success_at])).ok()?;
    let gas_at = tail.rfind(GAS_USED)?;
    let tail: RawTail = serde_json::from_str(&format!("{{{}", &tail[gas_at + 1..])).ok()?;
    Some(RawResult {
        success,
        gas_used: tail.gas_used,
        returned: tail.returned,
        logs: head.logs,
    })
}

/// How much of a result line's two ends is read at first, and at most (the window doubles):
/// a batch's head (logs) and tail (labelled addresses, the returned results) are kilobytes.
pub(super) const FIRST_END_WINDOW: u64 = 64 << 10;
const MAX_END_WINDOW: u64 = 16 << 20;

/// [`parse_script_output`] for forge's output in a file, without reading its traces: the last
/// line that starts with `{` is read at its two ends (`parse_result_parts`); only when that
/// does not give the result is the whole file read and parsed as [`parse_script_output`] does.
/// Same answer either way: the fast path answers only for the last candidate line, which the
/// whole parse would pick first.
pub fn parse_script_output_file(path: &Path) -> std::io::Result<Option<ScriptResultFields>> {
    if let Some(r) = parse_file_ends(path)? {
        return Ok(Some((
            r.success,
            r.gas_used,
            r.returned.unwrap_or_default(),
            r.logs,
        )));
    }
    Ok(parse_script_output(&read_lossy(path)?))
}

/// The fast path of [`parse_script_output_file`]; `None` when it cannot answer.
fn parse_file_ends(path: &Path) -> std::io::Result<Option<RawResult>> {
    use std::io::{BufRead as _, Read as _, Seek as _, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    // Line bounds found by std's memchr, no line held: (start, length with its newline, which
    // the parse trims like any whitespace).
    let mut lines = Vec::new();
    {
        let mut reader = std::io::BufReader::with_capacity(1 << 20, &mut file);
        let mut at = 0u64;
        loop {
            let skipped = reader.skip_until(b'\n')? as u64;
            if skipped == 0 {
                break;
            }
            lines.push((at, skipped));
            at += skipped;
        }
    }
    let mut read_at = |start: u64, len: u64| -> std::io::Result<Vec<u8>> {
        file.seek(SeekFrom::Start(start))?;
        let mut buf = Vec::with_capacity(len as usize);
        (&mut file).take(len).read_to_end(&mut buf)?;
        Ok(buf)
    };
    let mut candidate = None;
    for &(start, len) in lines.iter().rev() {
        let first = read_at(start, len.min(FIRST_END_WINDOW))?;
        match first.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => {
                candidate = Some((start, len));
                break;
            }
            _ => continue,
        }
    }
    let Some((start, len)) = candidate else {
        return Ok(None);
    };
    let mut window = FIRST_END_WINDOW;
    loop {
        let w = window.min(len);
        let head = read_at(start, w)?;
        let tail = read_at(start + len - w, w)?;
        if let (Some(head), Some(tail)) = (utf8_prefix(&head), utf8_suffix(&tail)) {
            if let Some(result) = parse_result_parts(head.trim(), tail.trim()) {
                return Ok(Some(result));
            }
        }
        if w == len || window >= MAX_END_WINDOW {
            return Ok(None);
        }
        window *= 2;
    }
}

/// The longest valid UTF-8 start of `bytes` (a window may cut a character).
fn utf8_prefix(bytes: &[u8]) -> Option<&str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Some(text),
        Err(e) if e.error_len().is_none() => std::str::from_utf8(&bytes[..e.valid_up_to()]).ok(),
        Err(_) => None,
    }
}

/// `bytes` without the continuation bytes of a character the window cut at its start.
fn utf8_suffix(bytes: &[u8]) -> Option<&str> {
    let cut = bytes
        .iter()
        .take(3)
        .take_while(|b| (0x80..0xc0).contains(*b))
        .count();
    std::str::from_utf8(&bytes[cut..]).ok()
}

/// A result object's `success`, `gas_used`, `returned` and decoded `logs`.
pub type ScriptResultFields = (bool, u64, Bytes, Vec<String>);

/// Find the result object among forge's JSON lines (the last one that has `success` and
/// `gas_used`).
pub fn parse_script_output(stdout: &str) -> Option<ScriptResultFields> {
    stdout
        .lines()
        .rev()
        .filter(|l| l.trim_start().starts_with('{'))
        .find_map(|l| parse_result_ends(l).or_else(|| serde_json::from_str::<RawResult>(l).ok()))
        .map(|r| {
            (
                r.success,
                r.gas_used,
                r.returned.unwrap_or_default(),
                r.logs,
            )
        })
}

#[cfg(test)]
mod result_line_tests {
    use super::*;

    fn both(line: &str) -> (Option<RawResult>, Option<RawResult>) {
        (
            parse_result_ends(line),
            serde_json::from_str::<RawResult>(line).ok(),
        )
    }

    fn same(a: &RawResult, b: &RawResult) -> bool {
        a.success == b.success
            && a.gas_used == b.gas_used
            && a.returned == b.returned
            && a.logs == b.logs
    }

    #[test]
    fn the_ends_of_a_result_line_read_as_the_whole_line() {
        // Shaped as forge 1.7 writes it: a trace node's own `gas_used` and a log that names the
        // keys inside a string come before the object's.
        let line = r#"{"logs":["said \"success\":true"],"returns":{"results":{"internal_type":"bool","value":"true"}},"success":false,"raw_logs":[],"traces":[["Execution",{"arena":[{"trace":{"gas_used":7,"success":true}}]}]],"gas_used":123456,"labeled_addresses":{"0x01":"Runner"},"returned":"0x0102","address":null}"#;
        let (fast, full) = both(line);
        let (fast, full) = (fast.expect("fast path"), full.expect("full parse"));
        assert!(same(&fast, &full), "{fast:?} != {full:?}");
        assert!(!fast.success);
        assert_eq!(fast.gas_used, 123456);
        assert_eq!(fast.logs, vec![r#"said "success":true"#.to_owned()]);
        assert_eq!(fast.returned.unwrap().to_vec(), vec![1, 2]);
    }

    #[test]
    fn a_line_laid_out_otherwise_is_left_to_the_full_parse() {
        // Fields in another order, or an unknown field after `gas_used`: no fast answer.
        for line in [
            r#"{"success":true,"gas_used":5,"logs":[],"returned":"0x"}"#,
            r#"{"logs":[],"success":true,"raw_logs":[],"traces":[],"gas_used":5,"extra":1}"#,
        ] {
            let (fast, full) = both(line);
            assert!(fast.is_none(), "{line}");
            assert!(full.is_some(), "{line}");
        }
        assert_eq!(
            parse_script_output(r#"{"success":true,"gas_used":5,"logs":[],"returned":"0x"}"#)
                .map(|r| r.1),
            Some(5)
        );
    }

    #[test]
    #[ignore = "needs a real batch's output in $FORGE_RESULT_LINE (a file)"]
    fn a_real_batch_reads_the_same_both_ways() {
        let path = std::env::var("FORGE_RESULT_LINE").unwrap();
        let text = std::fs::read_to_string(path).unwrap();
        let started = std::time::Instant::now();
        let fast = parse_result_ends(text.trim()).expect("fast path");
        let fast_time = started.elapsed();
        let full = serde_json::from_str::<RawResult>(text.trim()).unwrap();
        eprintln!(
            "ends {fast_time:?}, whole line {:?}",
            started.elapsed() - fast_time
        );
        assert!(same(&fast, &full));
    }
}

#[cfg(test)]
mod result_file_tests {
    use super::*;
    use std::path::PathBuf;

    /// forge's output as a file: a line before the result, a result line whose traces are far
    /// longer than the first window (with a character of several bytes where a window cuts).
    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    fn big_line(success: bool) -> String {
        let filler = "é".repeat(FIRST_END_WINDOW as usize * 3);
        let labels = "ü".repeat(FIRST_END_WINDOW as usize);
        format!(
            r#"{{"logs":["said \"success\":true","{labels}"],"returns":{{}},"success":{success},"raw_logs":[],"traces":[["Execution",{{"arena":[{{"trace":{{"gas_used":7,"success":true,"data":"{filler}"}}}}]}}]],"gas_used":987654,"labeled_addresses":{{"0x01":"{labels}"}},"returned":"0x0a0b","address":null}}"#
        )
    }

    #[test]
    fn a_result_file_reads_as_the_text_in_memory() {
        let dir = crate::signals::Scratch::new("forge-result-test").unwrap();
        for success in [true, false] {
            let text = format!("{{\"chain\":1}}\n{}\n\n", big_line(success));
            let path = write(dir.path(), "out.json", &text);
            // The fast path answers, from the ends alone.
            let fast = parse_file_ends(&path).unwrap().expect("fast path");
            assert_eq!(fast.success, success);
            assert_eq!(fast.gas_used, 987654);
            assert_eq!(fast.logs.len(), 2);
            assert_eq!(
                parse_script_output_file(&path).unwrap(),
                parse_script_output(&text)
            );
        }
        // Laid out otherwise (another field order, and the last `{` line is not the result):
        // the fast path does not answer and the whole-file parse gives the in-memory answer.
        let text = "{\"success\":true,\"gas_used\":5,\"logs\":[\"x\"],\"returned\":\"0x01\"}\n{\"note\":1}\n";
        let path = write(dir.path(), "other.json", text);
        assert!(parse_file_ends(&path).unwrap().is_none());
        let whole = parse_script_output_file(&path).unwrap();
        assert_eq!(whole, parse_script_output(text));
        assert_eq!(whole.map(|r| r.1), Some(5));
        // No output at all.
        let path = write(dir.path(), "empty.json", "");
        assert_eq!(parse_script_output_file(&path).unwrap(), None);
    }

    #[test]
    #[ignore = "needs a real batch's output in $FORGE_RESULT_LINE (a file)"]
    fn a_real_batch_file_reads_as_in_memory() {
        let path = PathBuf::from(std::env::var("FORGE_RESULT_LINE").unwrap());
        assert!(parse_file_ends(&path).unwrap().is_some(), "fast path");
        let started = std::time::Instant::now();
        let from_file = parse_script_output_file(&path).unwrap();
        let file_time = started.elapsed();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(from_file, parse_script_output(&text));
        eprintln!("from the file's ends {file_time:?}");
    }
}
