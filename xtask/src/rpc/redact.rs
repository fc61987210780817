//! RPC URLs carry API keys (`?key=...`, `user:password@`, `/v3/<key>`): [`Redacted`] is the
//! only way a URL is shown, and [`Redacted::scrub`] cleans any text (errors from the network
//! stack, child output) before it is shown.

use std::fmt;
use std::str::FromStr;

use url::Url;

use crate::error::Unusable;

/// What replaces a secret when a URL is shown.
pub const MASK: &str = "***";

/// An endpoint URL whose `Display` and `Debug` never show a credential.
///
/// Shown: the scheme, the host and the port. Masked: the user name and password, every path
/// segment and every query value (names stay, so `?key=***` still says what kind of URL it
/// is). API keys often sit in the path (`/v3/<key>`), and no rule can tell a key from a
/// route, so every segment is masked.
#[derive(Clone, PartialEq, Eq)]
pub struct Redacted {
    url: Url,
}

impl Redacted {
    pub fn new(url: Url) -> Self {
        Self { url }
    }

    /// Parse a user-supplied URL. The error never repeats the input: it may hold a key.
    pub fn parse(text: &str, what: &str) -> Result<Self, Unusable> {
        let url = Url::parse(text.trim()).map_err(|err| {
            Unusable::with_fix(
                format!("{what} is not a valid URL ({err})"),
                format!("give {what} as http://host:port/path"),
            )
        })?;
        match url.scheme() {
            "http" | "https" => {}
            other => {
                return Err(Unusable::with_fix(
                    format!("{what} has scheme `{other}`; only http:// and https:// are supported"),
                    format!("give {what} as http(s)://host:port/path"),
                ))
            }
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(Unusable::with_fix(
                format!("{what} has no host"),
                format!("give {what} as http://host:port/path"),
            ));
        }
        Ok(Self { url })
    }

    /// The real URL, credentials included. Only for talking to the endpoint: never print it.
    pub fn expose_secret(&self) -> &Url {
        &self.url
    }

    pub fn is_https(&self) -> bool {
        self.url.scheme() == "https"
    }

    /// The host name or address, for TLS server name indication.
    pub fn host(&self) -> Option<url::Host<&str>> {
        self.url.host()
    }

    /// `host:port`, for connecting and for the `Host` header.
    pub fn authority(&self) -> String {
        let host = self.url.host_str().unwrap_or_default();
        match self.url.port_or_known_default() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }

    /// Path and query to send in the request line.
    pub fn path_and_query(&self) -> String {
        match self.url.query() {
            Some(query) => format!("{}?{query}", self.url.path()),
            None => self.url.path().to_owned(),
        }
    }

    /// `Basic ...` for a URL with user info.
    pub fn basic_auth(&self) -> Option<String> {
        if self.url.username().is_empty() && self.url.password().is_none() {
            return None;
        }
        let user = percent_decode(self.url.username());
        let password = self.url.password().map(percent_decode).unwrap_or_default();
        Some(format!(
            "Basic {}",
            base64_encode(format!("{user}:{password}").as_bytes())
        ))
    }

    /// Every part of the URL that may be a secret, longest first, as it appears in the URL
    /// and percent-decoded.
    fn secrets(&self) -> Vec<String> {
        let mut parts = Vec::new();
        parts.push(self.url.as_str().to_owned());
        parts.push(self.url.as_str().trim_end_matches('/').to_owned());
        if !self.url.username().is_empty() {
            parts.push(self.url.username().to_owned());
        }
        if let Some(password) = self.url.password() {
            parts.push(password.to_owned());
        }
        if let Some(segments) = self.url.path_segments() {
            parts.extend(segments.filter(|s| !s.is_empty()).map(str::to_owned));
        }
        if let Some(query) = self.url.query() {
            parts.push(query.to_owned());
            for pair in query.split('&') {
                let value = pair.split_once('=').map_or(pair, |(_, v)| v);
                parts.push(value.to_owned());
            }
        }
        let decoded: Vec<String> = parts.iter().map(|p| percent_decode(p)).collect();
        parts.extend(decoded);
        parts.retain(|p| !p.is_empty() && p != MASK);
        parts.sort_by_key(|p| std::cmp::Reverse(p.len()));
        parts.dedup();
        parts
    }

    /// `text` with every secret part of this URL masked. Use it on any message that may
    /// quote the URL (errors from the HTTP stack, output of a child process).
    pub fn scrub(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in self.secrets() {
            // Short segments such as `v3` are routes, not keys, and would mangle ordinary
            // words; the whole-URL and query entries above still cover them in context.
            if secret.len() < 4 {
                continue;
            }
            if text.contains(&secret) {
                text = text.replace(&secret, MASK);
            }
        }
        text
    }
}

impl fmt::Display for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = &self.url;
        write!(f, "{}://", url.scheme())?;
        if !url.username().is_empty() || url.password().is_some() {
            f.write_str(MASK)?;
            if url.password().is_some() {
                write!(f, ":{MASK}")?;
            }
            f.write_str("@")?;
        }
        f.write_str(url.host_str().unwrap_or_default())?;
        if let Some(port) = url.port() {
            write!(f, ":{port}")?;
        }
        match url.path_segments() {
            Some(segments) => {
                let segments: Vec<&str> = segments.collect();
                if segments.iter().all(|s| s.is_empty()) {
                    f.write_str("/")?;
                } else {
                    for segment in segments {
                        if segment.is_empty() {
                            f.write_str("/")?;
                        } else {
                            write!(f, "/{MASK}")?;
                        }
                    }
                }
            }
            None => f.write_str("/")?,
        }
        if let Some(query) = url.query() {
            f.write_str("?")?;
            for (i, pair) in query.split('&').enumerate() {
                if i > 0 {
                    f.write_str("&")?;
                }
                match pair.split_once('=') {
                    Some((name, _)) => write!(f, "{name}={MASK}")?,
                    None => f.write_str(MASK)?,
                }
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Redacted({self})")
    }
}

impl serde::Serialize for Redacted {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl FromStr for Redacted {
    type Err = Unusable;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s, "the URL")
    }
}

/// A URL as given on the command line or in the environment, before it is parsed into a
/// [`Redacted`]. Its `Debug` shows nothing, so a debug print of the arguments cannot leak it.
#[derive(Clone, PartialEq, Eq)]
pub struct UrlArg(String);

impl UrlArg {
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    pub fn is_empty(&self) -> bool {
        self.0.trim().is_empty()
    }

    /// Parse into a [`Redacted`]; `what` names the option in the error.
    pub fn parse(&self, what: &str) -> Result<Redacted, Unusable> {
        Redacted::parse(&self.0, what)
    }
}

impl fmt::Debug for UrlArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UrlArg({MASK})")
    }
}

impl FromStr for UrlArg {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

fn percent_decode(text: &str) -> String {
    fn hex(byte: u8) -> Option<u8> {
        char::from(byte)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(high), Some(low)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push(high * 16 + low);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn base64_encode(input: &[u8]) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(TABLE[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redacted(text: &str) -> Redacted {
        Redacted::parse(text, "the URL").unwrap()
    }

    #[test]
    fn display_masks_query_values_userinfo_and_path() {
        let url = redacted("http://alice:hunter22@rpc.example.com:8545/v3/SECRETKEY?key=SECRET2&x");
        let shown = url.to_string();
        assert_eq!(
            shown,
            "http://***:***@rpc.example.com:8545/***/***?key=***&***"
        );
        for secret in ["alice", "hunter22", "SECRETKEY", "SECRET2", "v3"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert_eq!(format!("{url:?}"), format!("Redacted({shown})"));
        assert_eq!(serde_json::to_string(&url).unwrap(), format!("\"{shown}\""));
    }

    #[test]
    fn plain_local_url_is_shown_whole() {
        assert_eq!(
            redacted("http://127.0.0.1:8545").to_string(),
            "http://127.0.0.1:8545/"
        );
    }

    #[test]
    fn scrub_removes_every_secret_part_from_free_text() {
        let url = redacted("http://u:pa%40ss@h.example:1/v3/SECRETKEY?key=SECRET2");
        let text = format!(
            "error sending request for url ({}): pa@ss SECRETKEY key=SECRET2",
            url.expose_secret()
        );
        let clean = url.scrub(&text);
        for secret in ["pa%40ss", "pa@ss", "SECRETKEY", "SECRET2"] {
            assert!(!clean.contains(secret), "{clean}");
        }
    }

    #[test]
    fn parse_errors_do_not_repeat_the_input() {
        for bad in [
            "not a url SECRET",
            "ftp://h/SECRET",
            "ws://h/SECRET",
            "http://[bad/SECRET",
        ] {
            let err = Redacted::parse(bad, "--rpc-url").unwrap_err().to_string();
            assert!(!err.contains("SECRET"), "{err}");
        }
    }

    #[test]
    fn url_args_debug_print_nothing() {
        let arg: UrlArg = "http://h/v3/SECRET".parse().unwrap();
        assert_eq!(format!("{arg:?}"), "UrlArg(***)");
        assert_eq!(
            arg.parse("--rpc-url").unwrap().to_string(),
            "http://h/***/***"
        );
    }

    #[test]
    fn basic_auth_from_userinfo() {
        let url = redacted("http://Aladdin:open%20sesame@h/");
        assert_eq!(
            url.basic_auth().as_deref(),
            Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
        );
        assert_eq!(redacted("http://h/").basic_auth(), None);
    }
}
