//! A headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`:
//! commands in on fd 3, answers and events out on fd 4, each a JSON text ended by a NUL byte).
//! No WebSocket, no driver binary, no network: the browser loads `file://` pages only.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The browser to use: `$CHROMIUM`, else the first of Debian's and Google's names on `PATH`.
pub fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("CHROMIUM").filter(|v| !v.is_empty()) {
        return PathBuf::from(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in [
        "chromium",
        "chromium-browser",
        "google-chrome",
        "google-chrome-stable",
    ] {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "headless Chromium is needed to test report.html and none was found: \
         install it (Debian: `apt-get install chromium`; `.ci/run` does this in CI) \
         or set CHROMIUM to the browser's path"
    );
}

/// The flags every headless start gets: no sandbox (Chromium refuses to start as root with one,
/// and Ubuntu's user-namespace rules can deny it to others; the pages are our own local files),
/// no GPU, and nothing that reaches for the network (the machine has none).
pub fn base_args(profile: &Path) -> Vec<String> {
    vec![
        "--headless".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--no-first-run".to_owned(),
        "--no-default-browser-check".to_owned(),
        "--disable-background-networking".to_owned(),
        "--disable-component-update".to_owned(),
        "--disable-sync".to_owned(),
        "--disable-quic".to_owned(),
        "--disable-extensions".to_owned(),
        "--hide-scrollbars".to_owned(),
        "--mute-audio".to_owned(),
        format!("--user-data-dir={}", profile.display()),
    ]
}

/// A full-page screenshot of `page` through Chromium's own `--screenshot`.
pub fn screenshot(page: &Path, png: &Path, width: u32, height: u32) {
    let profile = tempfile::tempdir().unwrap();
    let output = Command::new(chromium())
        .args(base_args(profile.path()))
        .arg(format!("--window-size={width},{height}"))
        .arg(format!("--screenshot={}", png.display()))
        .arg(file_url(page))
        .stdin(Stdio::null())
        .output()
        .expect("starting chromium");
    assert!(
        output.status.success() && png.is_file(),
        "chromium --screenshot failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

pub fn file_url(path: &Path) -> String {
    let path = path.canonicalize().unwrap();
    let mut url = String::from("file://");
    for b in path.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-_.~".contains(&b) {
            url.push(char::from(b));
        } else {
            url.push_str(&format!("%{b:02X}"));
        }
    }
    url
}

/// One browser with one page, attached over the pipe.
pub struct Browser {
    child: Child,
    to_browser: std::io::PipeWriter,
    from_browser: Receiver<Value>,
    next_id: u64,
    session: String,
    _profile: tempfile::TempDir,
}

const WAIT: Duration = Duration::from_secs(60);

impl Browser {
    pub fn start() -> Self {
        let profile = tempfile::tempdir().unwrap();
        let (commands_read, commands_write) = std::io::pipe().unwrap();
        let (events_read, events_write) = std::io::pipe().unwrap();
        let (cr, ew) = (commands_read.as_raw_fd(), events_write.as_raw_fd());
        let mut cmd = Command::new(chromium());
        cmd.args(base_args(profile.path()))
            .arg("--remote-debugging-pipe")
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: between fork and exec only async-signal-safe calls (fcntl, dup2) on fds
        // this process owns.
        unsafe {
            cmd.pre_exec(move || {
                // Move both ends above 4 first, so that dup2 onto 3 and 4 cannot clobber them.
                let a = libc::fcntl(cr, libc::F_DUPFD_CLOEXEC, 10);
                let b = libc::fcntl(ew, libc::F_DUPFD_CLOEXEC, 10);
                if a < 0 || b < 0 || libc::dup2(a, 3) < 0 || libc::dup2(b, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("starting chromium");
        drop(commands_read);
        drop(events_write);
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(events_read);
            let mut message = Vec::new();
            while reader.read_until(0, &mut message).is_ok_and(|n| n > 0) {
                if message.last() == Some(&0) {
                    message.pop();
                }
                if let Ok(value) = serde_json::from_slice::<Value>(&message) {
                    if tx.send(value).is_err() {
                        break;
                    }
                }
                message.clear();
            }
        });
        let mut browser = Browser {
            child,
            to_browser: commands_write,
            from_browser: rx,
            next_id: 0,
            session: String::new(),
            _profile: profile,
        };
        let target = browser.call(None, "Target.createTarget", json!({"url": "about:blank"}));
        let target_id = target["targetId"].as_str().unwrap().to_owned();
        let attached = browser.call(
            None,
            "Target.attachToTarget",
            json!({"targetId": target_id, "flatten": true}),
        );
        browser.session = attached["sessionId"].as_str().unwrap().to_owned();
        browser.page_call("Page.enable", json!({}));
        browser.page_call("Runtime.enable", json!({}));
        browser.page_call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": 1400, "height": 1000, "deviceScaleFactor": 1, "mobile": false}),
        );
        browser
    }

    fn send(&mut self, session: Option<&str>, method: &str, params: Value) -> u64 {
        self.next_id += 1;
        let mut message = json!({"id": self.next_id, "method": method, "params": params});
        if let Some(s) = session {
            message["sessionId"] = json!(s);
        }
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        self.to_browser
            .write_all(&bytes)
            .expect("writing to chromium");
        self.next_id
    }

    /// Wait for a message that `accept` takes; panics after [`WAIT`].
    fn wait_for(&mut self, what: &str, mut accept: impl FnMut(&Value) -> bool) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.from_browser.recv_timeout(left) {
                Ok(message) if accept(&message) => return message,
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => panic!("chromium: no {what} within {WAIT:?}"),
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("chromium closed the pipe while waiting for {what}")
                }
            }
        }
    }

    fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        let id = self.send(session, method, params);
        let answer = self.wait_for(method, |m| m["id"] == json!(id));
        assert!(
            answer.get("error").is_none(),
            "chromium: {method} failed: {}",
            answer["error"]
        );
        answer["result"].clone()
    }

    fn page_call(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.call(Some(&session), method, params)
    }

    /// Load a page and wait for its load event (its scripts have run by then).
    pub fn open(&mut self, url: &str) {
        let session = self.session.clone();
        self.send(Some(&session), "Page.navigate", json!({"url": url}));
        self.wait_for("Page.loadEventFired", |m| {
            m["method"] == "Page.loadEventFired" && m["sessionId"] == json!(session)
        });
    }

    /// Evaluate a JavaScript expression in the page and return its value (JSON).
    pub fn eval(&mut self, expression: &str) -> Value {
        let result = self.page_call(
            "Runtime.evaluate",
            json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
        );
        if let Some(exception) = result.get("exceptionDetails") {
            panic!("the page threw: {exception}\nin: {expression}");
        }
        result["result"]["value"].clone()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.send(None, "Browser.close", json!({}));
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
