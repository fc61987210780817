//! A local anvil owned by a guard: started on a free port, ready when it says it listens,
//! ended when the guard is dropped (on success, failure, panic and interruption alike), with
//! its scratch home removed after it.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context as _;

use crate::error::Unusable;
use crate::toolchain::{Tool, Toolchain};

/// How to start an anvil.
#[derive(Debug, Clone)]
pub struct AnvilBuilder {
    chain_id: Option<u64>,
    timestamp: Option<u64>,
    args: Vec<OsString>,
    startup_timeout: Duration,
    log: Option<std::path::PathBuf>,
    /// 0: a port the kernel picks.
    port: u16,
}

impl Default for AnvilBuilder {
    fn default() -> Self {
        Self {
            chain_id: None,
            timestamp: None,
            args: Vec::new(),
            startup_timeout: Duration::from_secs(20),
            log: None,
            port: 0,
        }
    }
}

impl AnvilBuilder {
    pub fn chain_id(mut self, chain_id: u64) -> Self {
        self.chain_id = Some(chain_id);
        self
    }

    /// Genesis timestamp (seconds since the epoch).
    pub fn timestamp(mut self, timestamp: u64) -> Self {
        self.timestamp = Some(timestamp);
        self
    }

    /// Any other anvil flag.
    pub fn arg(mut self, arg: impl Into<OsString>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Several other flags.
    pub fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(mut self, args: I) -> Self {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Listen on this port instead of one the kernel picks.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Keep anvil's output in this file (kept in the report directory).
    pub fn log_to(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.log = Some(path.into());
        self
    }

    pub fn startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup_timeout = timeout;
        self
    }

    /// Start the toolchain's anvil on 127.0.0.1 and a port the kernel picks; wait until it
    /// listens.
    pub fn spawn(self, toolchain: &Toolchain) -> anyhow::Result<Anvil> {
        // A port asked for by number that something else holds: say so at once, not after
        // anvil's own start-up timeout.
        if self.port != 0 {
            if let Err(err) = std::net::TcpListener::bind(("127.0.0.1", self.port)) {
                return Err(Unusable::with_fix(
                    format!("port {} is in use ({err})", self.port),
                    "stop whatever listens there, or choose another port (--port 0: any free one)",
                )
                .into());
            }
        }
        // anvil keeps old states of a long chain on disk under $HOME/.foundry/anvil/tmp and
        // only removes them when it shuts down cleanly: gigabytes per chain are left behind by a
        // kill. Each anvil gets a home of its own (scratch, removed exactly once).
        let home =
            crate::signals::Scratch::new("anvil").context("creating anvil's scratch home")?;
        let mut command = toolchain.command(Tool::Anvil);
        command
            .env("HOME", home.path())
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Some(chain_id) = self.chain_id {
            command.args(["--chain-id", &chain_id.to_string()]);
        }
        if let Some(timestamp) = self.timestamp {
            command.args(["--timestamp", &timestamp.to_string()]);
        }
        command.args(&self.args);
        let mut child = crate::signals::spawn(&mut command)
            .with_context(|| format!("starting {}", toolchain.anvil.path.display()))?;
        let (Some(stdout), Some(stderr)) = (
            child.child_mut().stdout.take(),
            child.child_mut().stderr.take(),
        ) else {
            anyhow::bail!("anvil's output was not captured");
        };
        // A thread reads anvil's output for as long as it runs, so anvil never blocks on a
        // full pipe; the first "Listening on" line gives the address.
        let log = match &self.log {
            Some(path) => Some(std::io::BufWriter::new(
                std::fs::File::create(path)
                    .with_context(|| format!("creating {}", path.display()))?,
            )),
            None => None,
        };
        let log = std::sync::Arc::new(std::sync::Mutex::new(log));
        // The last lines anvil wrote on stderr: the cause when it exits before listening.
        let last_errors = std::sync::Arc::new(std::sync::Mutex::new(std::collections::VecDeque::<
            String,
        >::new()));
        let stderr_reader = {
            let (log, last_errors) = (log.clone(), last_errors.clone());
            std::thread::Builder::new()
                .name("anvil-stderr".into())
                .spawn(move || {
                    for line in BufReader::new(stderr).lines() {
                        let Ok(line) = line else { break };
                        write_log(&log, &line);
                        if let Ok(mut last) = last_errors.lock() {
                            if last.len() == 8 {
                                last.pop_front();
                            }
                            last.push_back(line);
                        }
                    }
                })
                .context("starting the anvil error reader")?
        };
        let (lines_tx, lines_rx) = mpsc::channel::<String>();
        std::thread::Builder::new()
            .name("anvil-stdout".into())
            .spawn(move || {
                let mut announced = false;
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    write_log(&log, &line);
                    if !announced && line.contains("Listening on ") {
                        announced = true;
                        let _ = lines_tx.send(line);
                    }
                }
            })
            .context("starting the anvil output reader")?;
        let started = std::time::Instant::now();
        let line = loop {
            crate::signals::check()?;
            match lines_rx.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => break line,
                Err(mpsc::RecvTimeoutError::Timeout)
                    if started.elapsed() < self.startup_timeout =>
                {
                    continue
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(Unusable::with_fix(
                        format!(
                            "anvil did not start listening within {}s",
                            self.startup_timeout.as_secs()
                        ),
                        "run `cargo xtask anvil -- --port 0` to see why",
                    )
                    .into());
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    // anvil closed its output: it exited. Its last words say why.
                    crate::signals::check()?;
                    let status = child.child_mut().wait().ok();
                    let _ = stderr_reader.join();
                    let said = last_errors
                        .lock()
                        .map(|l| l.iter().cloned().collect::<Vec<_>>().join(" | "))
                        .unwrap_or_default();
                    let cause = if said.contains("Address already in use") {
                        format!("port {} is in use", self.port)
                    } else {
                        match status {
                            Some(status) => {
                                format!("anvil exited before listening ({status}): {said}")
                            }
                            None => format!("anvil exited before listening: {said}"),
                        }
                    };
                    return Err(Unusable::with_fix(
                        cause,
                        "run `cargo xtask anvil -- --port 0` to see why",
                    )
                    .into());
                }
            }
        };
        let port = line
            .rsplit(':')
            .next()
            .and_then(|port| port.trim().parse().ok())
            .with_context(|| format!("anvil announced an address without a port: {line}"))?;
        Ok(Anvil { child, port, home })
    }
}

type SharedLog = std::sync::Arc<std::sync::Mutex<Option<std::io::BufWriter<std::fs::File>>>>;

fn write_log(log: &SharedLog, line: &str) {
    use std::io::Write as _;
    if let Ok(mut guard) = log.lock() {
        if let Some(file) = guard.as_mut() {
            let _ = writeln!(file, "{line}");
            let _ = file.flush();
        }
    }
}

/// A running anvil. Dropping it ends its process group, reaps it, then removes its home.
#[derive(Debug)]
pub struct Anvil {
    child: crate::signals::Owned,
    port: u16,
    /// Removed after the child is ended (fields drop in order: the child first).
    home: crate::signals::Scratch,
}

impl Anvil {
    pub fn builder() -> AnvilBuilder {
        AnvilBuilder::default()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// anvil's scratch home (removed when this guard is dropped).
    pub fn home(&self) -> &std::path::Path {
        self.home.path()
    }
}
