//! Redaction of what identifies a person or a machine, before a writeup is published.
//!
//! Crash reports and round configurations leak who ran them and where: home folders
//! (`/Users/alice`, `/home/bob`, `C:\Users\carol`, `~dave/`), accounts in URLs
//! (`ssh://erin@host`, `github.com/frank`), e-mail addresses, host names (`*.local`, fully
//! qualified names, `alices-mac-mini` given as `hostname=...`), IPv4/IPv6/MAC addresses,
//! hardware serial numbers, and the per-machine keys macOS writes into every report
//! (`crashReporterKey`, `sleepWakeUUID`, `userID`). A [`Redactor`] replaces each with a
//! pseudonym of its kind (`user1`, `host1`, `ip1`, `mac1`, `serial1`, `email1@example.invalid`,
//! ...), the same pseudonym for the same value throughout one writeup, so "the same machine
//! ran both blocks" stays visible.
//!
//! It works in two passes: it first *learns* from everything it is shown (the writeup and,
//! through [`Redactor::learn_json`], the reports and rounds behind it), then replaces. A user
//! name learnt anywhere (a process path in a report) is then also replaced where it stands on
//! its own as a word in free text (a round note). Strings are of two classes ([`Class`]):
//! free text gets every rule; code (signatures, stack lines, symbols, image names) gets only
//! the rules that cannot hit an identifier of a program: home folders, e-mail addresses, URL
//! credentials and learnt opaque keys. So a user called `mps` never turns
//! `at::native::mps::gatherViewTensor` into `at::native::user1::...`; and in free text a
//! learnt name is a word only between spaces or punctuation, never inside `a::b`, `a.b`,
//! `a/b`, `a-b` or `a_b`.
//!
//! Redaction is a presentation transform: it runs over the in-memory [`Writeup`] just before
//! rendering, never over stored data. Numbers and structure are never changed. A rule that
//! fails to build is an error ([`RedactError`]), never a rule that silently matches nothing.

use super::model::{RedactedKind, Writeup};
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;
use thiserror::Error;

/// Errors of redaction.
#[derive(Debug, Error)]
pub enum RedactError {
    /// A built-in pattern did not compile (`pattern`): nothing may be published unredacted.
    #[error("redaction rule {name} does not build, so nothing is written unredacted: {source}")]
    Pattern {
        /// The rule.
        name: &'static str,
        /// The regex error.
        #[source]
        source: regex::Error,
    },
    /// Data to learn names from could not be read (`learn`): learning less must not pass
    /// silently.
    #[error("cannot read data to learn identifiers from: {0}")]
    Learn(String),
}

impl RedactError {
    /// A short stable name for logs.
    pub fn code(&self) -> &'static str {
        match self {
            RedactError::Pattern { .. } => "pattern",
            RedactError::Learn(_) => "learn",
        }
    }
}

/// What a redacted value was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A user (account) name.
    User,
    /// A host or computer name.
    Host,
    /// An e-mail address (replaced whole).
    Email,
    /// An IPv4 or IPv6 address.
    Ip,
    /// A MAC address.
    Mac,
    /// A hardware serial number.
    Serial,
    /// `crashReporterKey`: a per-machine key in every report.
    ReporterKey,
    /// `sleepWakeUUID`: changes per sleep/wake cycle, ties reports to one machine.
    SleepWake,
    /// Hardware UUID, provisioning UDID, anonymous UUID, boot session UUID.
    DeviceId,
    /// `userID` / `uid`: the numeric account id.
    UserId,
    /// A password in a URL.
    Password,
}

impl Kind {
    const ALL: [Kind; 11] = [
        Kind::User,
        Kind::Host,
        Kind::Email,
        Kind::Ip,
        Kind::Mac,
        Kind::Serial,
        Kind::ReporterKey,
        Kind::SleepWake,
        Kind::DeviceId,
        Kind::UserId,
        Kind::Password,
    ];

    /// The pseudonym stem and the stable name in JSON (`user`, `host`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::User => "user",
            Kind::Host => "host",
            Kind::Email => "email",
            Kind::Ip => "ip",
            Kind::Mac => "mac",
            Kind::Serial => "serial",
            Kind::ReporterKey => "crkey",
            Kind::SleepWake => "sleepwake",
            Kind::DeviceId => "device",
            Kind::UserId => "uid",
            Kind::Password => "password",
        }
    }

    /// The kind named by [`Kind::as_str`].
    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Human name, singular and plural.
    pub fn label(self, n: u64) -> &'static str {
        let (one, many) = match self {
            Kind::User => ("user name", "user names"),
            Kind::Host => ("host name", "host names"),
            Kind::Email => ("e-mail address", "e-mail addresses"),
            Kind::Ip => ("IP address", "IP addresses"),
            Kind::Mac => ("MAC address", "MAC addresses"),
            Kind::Serial => ("serial number", "serial numbers"),
            Kind::ReporterKey => ("crashReporterKey", "crashReporterKeys"),
            Kind::SleepWake => ("sleepWakeUUID", "sleepWakeUUIDs"),
            Kind::DeviceId => ("hardware UUID", "hardware UUIDs"),
            Kind::UserId => ("user ID", "user IDs"),
            Kind::Password => ("URL password", "URL passwords"),
        };
        if n == 1 {
            one
        } else {
            many
        }
    }

    fn pseudonym(self, n: usize) -> String {
        match self {
            Kind::Email => format!("email{n}@example.invalid"),
            k => format!("{}{n}", k.as_str()),
        }
    }

    /// Opaque values (keys, serials, UUIDs, addresses) are replaced wherever they occur as a
    /// token, in code too: they cannot be part of a symbol by accident.
    fn is_opaque(self) -> bool {
        matches!(
            self,
            Kind::ReporterKey | Kind::SleepWake | Kind::DeviceId | Kind::Serial | Kind::Mac
        )
    }
}

/// Which rules apply to a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Titles, labels, paths, configuration values, notes, links: every rule.
    Text,
    /// Signatures, stack lines, symbols, rule ids: only home folders, e-mail addresses, URL
    /// credentials and learnt opaque keys; never names as words, hosts or addresses.
    Code,
}

struct Patterns {
    email: Regex,
    url_user: Regex,
    url_host: Regex,
    unc_host: Regex,
    account: Regex,
    user_at_host: Regex,
    home_unix: Regex,
    home_windows: Regex,
    tilde: Regex,
    key_value: Regex,
    mac: Regex,
    mac_dots: Regex,
    ipv4: Regex,
    ipv6: Regex,
    host_local: Regex,
    fqdn: Regex,
    host_model: Regex,
    host_possessive: Regex,
    serial_shape: Regex,
}

/// Build one rule. A rule that does not build is an error that stops the command (exit 2):
/// a rule that matched nothing instead would publish what it is there to hide.
fn rule(name: &'static str, pattern: &str) -> Result<Regex, RedactError> {
    Regex::new(pattern).map_err(|source| RedactError::Pattern { name, source })
}

fn patterns() -> Result<&'static Patterns, RedactError> {
    static P: OnceLock<Result<Patterns, RedactError>> = OnceLock::new();
    let p = P.get_or_init(|| {
        let re = rule;
        Ok(Patterns {
            email: re(
                "email",
                r"(?i)[a-z0-9._%+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}",
            )?,
            // `ssh://erin:secret@build-7.example.com/...`: user 2, password 3, host 4.
            url_user: re(
                "url_user",
                r"(?i)\b([a-z][a-z0-9+.-]*://)([^\s/@:?#]+)(?::([^\s/@]*))?@([a-z0-9._-]+)",
            )?,
            // The host of any URL: `https://build-7.corp.example.com/x`, `http://buildbox:8080`.
            url_host: re(
                "url_host",
                r"(?i)\b[a-z][a-z0-9+.-]*://(?:[^\s/@]*@)?([a-z0-9][a-z0-9._-]*)",
            )?,
            // Windows shares: `\\buildbox\logs`.
            unc_host: re("unc_host", r#"(?:^|[\s"'=(])\\\\([A-Za-z0-9][A-Za-z0-9._-]*)\\"#)?,
            // `github.com/frank`, `git@github.com:frank/repo.git`: the account is group 1.
            account: re(
                "account",
                r"(?i)\b(?:github\.com|gitlab\.com|bitbucket\.org|codeberg\.org|huggingface\.co|gist\.github\.com)[/:]~?([a-z0-9][a-z0-9_.-]*)",
            )?,
            // `alice@buildbox`, `alice@alices-mac-mini.local`: user 2, host 3.
            user_at_host: re(
                "user_at_host",
                r"(?i)(^|[^a-z0-9._%+@/-])([a-z_][a-z0-9._-]*)@([a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*)",
            )?,
            home_unix: re(
                "home_unix",
                r"(/Users/|/home/|/var/home/|/export/home/)([^/\s:;,'`()<>|\\]+)",
            )?,
            // `C:\Users\carol\...`, `c:/users/carol`, `C:\\Users\\carol` (escaped in JSON).
            home_windows: re(
                "home_windows",
                r"(?i)\b([a-z]:(?:\\{1,2}|/)(?:Users|Documents and Settings)(?:\\{1,2}|/))([^\\/\s:;,'`()<>|]+)",
            )?,
            // `~dave/...` at the start of a word (not `Foo::~Foo`).
            tilde: re(
                "tilde",
                r#"(?i)(^|[\s"'=(\[,])~([a-z_][a-z0-9._-]*)"#,
            )?,
            // `crashReporterKey: X`, `"sleepWakeUUID" : "X"`, `Serial Number (system): X`,
            // `hostname=X`, `userID 501`: key 1, value 2.
            key_value: re(
                "key_value",
                r#"(?i)\b(crash[ _-]?reporter[ _-]?key|sleep[ _/-]?wake[ _-]?uuid|anonymous[ _-]?uuid|hardware[ _-]?uuid|platform[ _-]?uuid|provisioning[ _-]?udid|boot[ _-]?session[ _-]?uuid|io[ _-]?platform[ _-]?serial[ _-]?number|(?:hardware[ _-]?|platform[ _-]?|system[ _-]?)?serial(?:[ _-]?(?:number|no|num))?(?:[ _-]?\(system\))?|user[ _-]?id|uid|(?:local[ _-]?)?host[ _-]?name|computer[ _-]?name|machine[ _-]?name|node[ _-]?name|user[ _-]?name|user|logname|login|owner)["']?\s*[:=]?\s*["']?([A-Za-z0-9][A-Za-z0-9._-]*)"#,
            )?,
            mac: re(
                "mac",
                r"(?i)(^|[^0-9a-z:_-])((?:[0-9a-f]{2}[:-]){5}[0-9a-f]{2})($|[^0-9a-z:_-])",
            )?,
            mac_dots: re(
                "mac_dots",
                r"(?i)\b([0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4})\b",
            )?,
            ipv4: re(
                "ipv4",
                r"(^|[^0-9A-Za-z._])((?:\d{1,3}\.){3}\d{1,3})($|[^0-9A-Za-z.]|\.$|\.[^0-9])",
            )?,
            ipv6: re(
                "ipv6",
                r"(^|[^0-9A-Za-z:_.])([0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.\d{1,3}\.\d{1,3}\.\d{1,3})?(?:%[A-Za-z0-9]+)?)",
            )?,
            host_local: re("host_local", r"(?i)\b([a-z0-9][a-z0-9-]*)\.local\b")?,
            fqdn: re(
                "fqdn",
                r"(?i)(^|[^a-z0-9._@/\\-])((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,24})($|[^a-z0-9_-])",
            )?,
            // Names macOS derives from the owner's name: `Alices-MacBook-Pro`, `alices-mac-mini`.
            host_model: re(
                "host_model",
                r"(?i)\b[a-z0-9][a-z0-9-]*-(?:macbook-pro|macbook-air|macbook|mac-mini|mac-studio|mac-pro|imac)(?:-\d+)?\b",
            )?,
            // The computer name as System Settings shows it: `Alice's MacBook Pro`.
            host_possessive: re(
                "host_possessive",
                r"(?i)\b[a-z0-9]+['’]s[ -](?:macbook pro|macbook air|macbook|mac mini|mac studio|mac pro|imac)\b",
            )?,
            // Apple serial numbers: 10 (random, 2021 on) or 11–12 upper-case letters and digits.
            serial_shape: re("serial_shape", r"\b[A-Z0-9]{10,12}\b")?,
        })
    });
    p.as_ref().map_err(|e| match e {
        RedactError::Pattern { name, source } => RedactError::Pattern {
            name,
            source: source.clone(),
        },
        RedactError::Learn(m) => RedactError::Learn(m.clone()),
    })
}

/// Folders under a home root that are not people.
const NOT_USERS: &[&str] = &[
    "shared",
    "guest",
    "deleted users",
    "public",
    "default",
    "default user",
    "all users",
];

/// Account-like URL paths that are not accounts (`github.com/orgs/...`), and organisations
/// that publish the software this tool is about.
const NOT_ACCOUNTS: &[&str] = &[
    "orgs",
    "settings",
    "features",
    "about",
    "login",
    "pytorch",
    "apple",
    "python",
    "rust-lang",
    "ml-explore",
    "huggingface",
    "llvm",
];

/// E-mail local parts and `user@` names that are roles, not people.
const NOT_PEOPLE: &[&str] = &[
    "git",
    "root",
    "admin",
    "noreply",
    "no-reply",
    "support",
    "info",
    "mail",
    "postmaster",
    "www",
    "ubuntu",
    "ec2-user",
    "nobody",
    "user",
    "test",
];

/// Private and special top-level names: a dotted name ending in one is a machine.
const PRIVATE_TLDS: &[&str] = &[
    "local",
    "lan",
    "internal",
    "intranet",
    "corp",
    "home",
    "localdomain",
    "private",
    "priv",
];

/// Public top-level domains a fully qualified host name ends in. Deliberately not the file
/// extensions that are also country codes (`.py`, `.sh`, `.rs`, `.md`, `.so`, `.pt`, `.cc`,
/// `.mm`, `.in`, `.am`, `.ac`, `.pl`), so `torch.nn.functional.py` is no host.
const PUBLIC_TLDS: &[&str] = &[
    "com", "net", "org", "edu", "gov", "mil", "int", "io", "dev", "app", "cloud", "ai", "co", "us",
    "uk", "de", "fr", "jp", "cn", "kr", "tw", "ca", "au", "nl", "se", "ch", "at", "be", "dk", "fi",
    "no", "es", "it", "ie", "nz", "br", "ru", "eu", "arpa", "tech", "site", "xyz", "biz", "info",
    "example", "test",
];

/// Public services whose names are not anybody's machine.
const PUBLIC_HOSTS: &[&str] = &[
    "github.com",
    "githubusercontent.com",
    "gitlab.com",
    "pytorch.org",
    "python.org",
    "pypi.org",
    "apple.com",
    "huggingface.co",
    "example.invalid",
];

/// Configuration keys whose value names a kind as a whole (compared lower-case, without
/// spaces, `_`, `-` or `.`).
fn key_kind(key: &str) -> Option<Kind> {
    let k: String = key
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    let k = k.as_str();
    Some(match k {
        "user" | "username" | "owner" | "login" | "author" | "operator" | "ranby" | "runby"
        | "account" | "logname" => Kind::User,
        "host" | "hostname" | "localhostname" | "machine" | "machinename" | "computer"
        | "computername" | "node" | "nodename" | "server" | "servername" | "devicename"
        | "runnername" => Kind::Host,
        "email" | "mail" | "emailaddress" => Kind::Email,
        "ip" | "ipaddress" | "ipv4" | "ipv6" | "addr" => Kind::Ip,
        "mac" | "macaddress" | "ethernet" | "hwaddr" | "ether" => Kind::Mac,
        "crashreporterkey" => Kind::ReporterKey,
        "sleepwakeuuid" => Kind::SleepWake,
        "anonymousuuid" | "hardwareuuid" | "platformuuid" | "provisioningudid" | "udid"
        | "bootsessionuuid" => Kind::DeviceId,
        "userid" | "uid" => Kind::UserId,
        _ if k.contains("serial") => Kind::Serial,
        _ => return None,
    })
}

/// One replacement found in a string: byte range, kind and the value it stands for.
#[derive(Debug, Clone)]
struct Span {
    start: usize,
    end: usize,
    /// Lower wins when spans overlap.
    prio: u8,
    kind: Kind,
    value: String,
}

/// Replaces identifying values with stable pseudonyms; see the module docs.
#[derive(Debug, Default, Clone)]
pub struct Redactor {
    /// Per kind: lower-cased value → pseudonym.
    names: BTreeMap<Kind, BTreeMap<String, String>>,
    /// Per kind: pseudonyms handed out so far (several values may share one, as a fully
    /// qualified host name and its first label do).
    issued: BTreeMap<Kind, usize>,
    /// Per kind: pseudonyms that replaced something in redacted output.
    replaced: BTreeMap<Kind, BTreeSet<String>>,
}

impl Redactor {
    /// An empty redactor; fails when a built-in rule does not build.
    pub fn new() -> Result<Self, RedactError> {
        patterns()?;
        Ok(Self::default())
    }

    /// Treat `name` as a user name wherever it appears as a word in free text.
    pub fn register_user(&mut self, name: &str) {
        self.alias(Kind::User, name);
    }

    /// Treat `name` as a host name wherever it appears as a word in free text.
    pub fn register_host(&mut self, name: &str) {
        self.alias(Kind::Host, name);
    }

    fn alias(&mut self, kind: Kind, value: &str) -> String {
        let key = value.to_ascii_lowercase();
        let map = self.names.entry(kind).or_default();
        if let Some(p) = map.get(&key) {
            return p.clone();
        }
        let n = self.issued.entry(kind).or_default();
        *n += 1;
        let p = kind.pseudonym(*n);
        map.insert(key, p.clone());
        p
    }

    /// Give `other` the pseudonym `value` already has (a host's first label).
    fn alias_same(&mut self, kind: Kind, value: &str, other: &str) {
        let p = self.alias(kind, value);
        self.names
            .entry(kind)
            .or_default()
            .entry(other.to_ascii_lowercase())
            .or_insert(p);
    }

    /// Learn from a string without changing it (first pass).
    pub fn learn(&mut self, s: &str, class: Class) -> Result<(), RedactError> {
        self.spans(s, class)?;
        Ok(())
    }

    /// Learn from any serialisable data (a crash report, a round): every string with the
    /// rules that hold for code too (home folders, e-mail, URL accounts: a report's strings
    /// are mostly symbols), and a value under a key that names a kind (`crashReporterKey`,
    /// `userID`, `hostname`, `serial`...) whole as that kind.
    pub fn learn_json(&mut self, v: &serde_json::Value) -> Result<(), RedactError> {
        match v {
            serde_json::Value::String(s) => self.learn(s, Class::Code)?,
            serde_json::Value::Array(a) => {
                for x in a {
                    self.learn_json(x)?;
                }
            }
            serde_json::Value::Object(o) => {
                for (k, x) in o {
                    let whole = match x {
                        serde_json::Value::String(s) => Some(s.clone()),
                        serde_json::Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    };
                    if let (Some(kind), Some(val)) = (key_kind(k), whole) {
                        self.learn_whole(kind, &val);
                    }
                    self.learn_json(x)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// A value that is an identifier as a whole (a config value under `hostname`).
    fn learn_whole(&mut self, kind: Kind, value: &str) {
        let v = value.trim();
        if v.is_empty() || v.len() > 128 || v.contains(char::is_whitespace) || is_pseudonym(v) {
            return;
        }
        // A user id of 0 or a host called `localhost` identifies nobody.
        if matches!(v, "0" | "localhost" | "-1") {
            return;
        }
        // Shapes a value of the kind can have: a `node: 3` in a results file is no host, a
        // `serial_queue: com.apple.x` no serial number.
        let has_letter = v.chars().any(|c| c.is_alphabetic());
        let has_digit = v.chars().any(|c| c.is_ascii_digit());
        let fits = match kind {
            Kind::User | Kind::Host => has_letter && v.len() >= 2,
            Kind::UserId => v.bytes().all(|b| b.is_ascii_digit()),
            Kind::Serial | Kind::ReporterKey | Kind::SleepWake | Kind::DeviceId => {
                v.len() >= 6
                    && has_digit
                    && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            }
            Kind::Mac | Kind::Ip => has_digit,
            Kind::Email => v.contains('@'),
            Kind::Password => false,
        };
        if !fits {
            return;
        }
        if kind == Kind::Host {
            if let Some((first, _)) = v.split_once('.') {
                if first.len() >= 3 {
                    self.alias_same(kind, v, first);
                    return;
                }
            }
        }
        self.alias(kind, v);
    }

    /// Redact one string: every identifier it holds, and every name learnt so far.
    pub fn redact(&mut self, s: &str, class: Class) -> Result<String, RedactError> {
        let spans = self.spans(s, class)?;
        let mut out = String::with_capacity(s.len());
        let mut at = 0;
        for sp in spans {
            out.push_str(&s[at..sp.start]);
            let p = self.alias(sp.kind, &sp.value);
            self.replaced.entry(sp.kind).or_default().insert(p.clone());
            out.push_str(&p);
            at = sp.end;
        }
        out.push_str(&s[at..]);
        Ok(out)
    }

    /// Redact a configuration value: whole when its key names a kind and it is one token.
    fn redact_config(&mut self, key: &str, value: &str) -> Result<String, RedactError> {
        if let Some(kind) = key_kind(key) {
            let v = value.trim();
            if !v.is_empty() && !v.contains(char::is_whitespace) && !is_pseudonym(v) {
                self.learn_whole(kind, v);
                if let Some(p) = self
                    .names
                    .get(&kind)
                    .and_then(|m| m.get(&v.to_ascii_lowercase()))
                    .cloned()
                {
                    self.replaced.entry(kind).or_default().insert(p.clone());
                    return Ok(p);
                }
            }
        }
        self.redact(value, Class::Text)
    }

    /// Redact every string of a writeup in place, consistently, and record in the writeup
    /// what was redacted (counts by kind) for its footer.
    pub fn redact_writeup(&mut self, w: &mut Writeup) -> Result<(), RedactError> {
        // Learn everything first, so a name seen in a later field (a path in the fixes list)
        // is also replaced in an earlier one (the title).
        for (k, v) in &w.config {
            if let Some(kind) = key_kind(k) {
                self.learn_whole(kind, v);
            }
            // Every key and value with the text rules too: a host seen only inside a URL in
            // one value (`ssh://erin@buildbox9/x`) must be known before any other string (an
            // earlier key's `--host buildbox9`, the title) is written.
            self.learn(k, Class::Text)?;
            self.learn(v, Class::Text)?;
        }
        let mut err = None;
        visit_strings(w, &mut |s, class| {
            if err.is_none() {
                err = self.learn(s, class).err();
            }
        });
        if let Some(e) = err {
            return Err(e);
        }
        let mut err = None;
        visit_strings(w, &mut |s, class| {
            if err.is_none() {
                match self.redact(s, class) {
                    Ok(r) => *s = r,
                    Err(e) => err = Some(e),
                }
            }
        });
        if let Some(e) = err {
            return Err(e);
        }
        let mut config = std::mem::take(&mut w.config);
        for (k, v) in &mut config {
            *k = self.redact(k, Class::Text)?;
            *v = self.redact_config(k, v)?;
        }
        w.config = config;
        // Merge with what an earlier redaction recorded (redacting twice adds nothing).
        let mut counts: BTreeMap<Kind, u64> = BTreeMap::new();
        for r in w.redacted.iter().flatten() {
            if let Some(k) = Kind::parse(&r.kind) {
                counts.insert(k, r.count);
            }
        }
        for (k, set) in &self.replaced {
            let c = counts.entry(*k).or_default();
            *c = (*c).max(set.len() as u64);
        }
        w.redacted = Some(
            counts
                .into_iter()
                .filter(|(_, n)| *n > 0)
                .map(|(k, count)| RedactedKind {
                    kind: k.as_str().to_string(),
                    count,
                })
                .collect(),
        );
        Ok(())
    }

    /// Counts of distinct values replaced so far, by kind.
    pub fn counts(&self) -> Vec<(Kind, usize)> {
        self.replaced.iter().map(|(k, v)| (*k, v.len())).collect()
    }

    /// The pseudonyms given so far: `(original, pseudonym)`, for the caller's own records.
    pub fn mapping(&self) -> Vec<(String, String)> {
        self.names
            .values()
            .flat_map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())))
            .collect()
    }

    /// Every replacement in `s`, non-overlapping, in order. Learns as it goes.
    fn spans(&mut self, s: &str, class: Class) -> Result<Vec<Span>, RedactError> {
        let p = patterns()?;
        let mut learn_users: Vec<String> = Vec::new();
        let mut found: Vec<Span> = Vec::new();
        let mut add = |start: usize, end: usize, prio: u8, kind: Kind, value: &str| {
            if start < end && !is_pseudonym(value) {
                found.push(Span {
                    start,
                    end,
                    prio,
                    kind,
                    value: value.to_string(),
                });
            }
        };
        // Credentials and accounts in URLs.
        for c in p.url_user.captures_iter(s) {
            if let Some(u) = c.get(2) {
                add(u.start(), u.end(), 0, Kind::User, u.as_str());
            }
            if let Some(pw) = c.get(3).filter(|m| !m.as_str().is_empty()) {
                add(pw.start(), pw.end(), 0, Kind::Password, pw.as_str());
            }
            if class == Class::Text {
                if let Some(h) = c.get(4) {
                    if let Some(kind) = host_kind(h.as_str(), true) {
                        add(h.start(), h.end(), 0, kind, h.as_str());
                    }
                }
            }
        }
        for c in p.account.captures_iter(s) {
            if let Some(u) = c.get(1) {
                let name = u.as_str().trim_end_matches(".git");
                if !NOT_ACCOUNTS.contains(&name.to_ascii_lowercase().as_str()) {
                    add(u.start(), u.start() + name.len(), 1, Kind::User, name);
                }
            }
        }
        // E-mail addresses, whole; the local part is learnt as a user name when it looks like
        // one. An address at a private name (`alice@mini.local`) is user@host instead.
        for m in p.email.find_iter(s) {
            let (local, domain) = m.as_str().split_once('@').unwrap_or((m.as_str(), ""));
            let tld = domain.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
            if PRIVATE_TLDS.contains(&tld.as_str()) {
                continue;
            }
            if is_pseudonym(m.as_str()) {
                continue;
            }
            add(m.start(), m.end(), 1, Kind::Email, m.as_str());
            if looks_like_person(local) {
                learn_users.push(local.to_string());
            }
        }
        if class == Class::Text {
            for c in p.user_at_host.captures_iter(s) {
                let (Some(u), Some(h)) = (c.get(2), c.get(3)) else {
                    continue;
                };
                if looks_like_person(u.as_str()) {
                    add(u.start(), u.end(), 2, Kind::User, u.as_str());
                }
                let host = h.as_str();
                if host.chars().any(|c| c.is_ascii_alphabetic()) && !is_pseudonym(host) {
                    let host_part = host.strip_suffix(".local").unwrap_or(host);
                    match host_kind(host, true) {
                        Some(Kind::Host) => add(
                            h.start(),
                            h.start() + host_part.len(),
                            2,
                            Kind::Host,
                            host_part,
                        ),
                        Some(k) => add(h.start(), h.end(), 2, k, host),
                        None => {}
                    }
                }
            }
        }
        // Home folders of every platform.
        for c in p
            .home_unix
            .captures_iter(s)
            .chain(p.home_windows.captures_iter(s))
        {
            if let Some(u) = c.get(2) {
                if !NOT_USERS.contains(&u.as_str().to_ascii_lowercase().as_str()) {
                    add(u.start(), u.end(), 1, Kind::User, u.as_str());
                }
            }
        }
        if class == Class::Text {
            for c in p.url_host.captures_iter(s) {
                if let Some(h) = c.get(1) {
                    let host = h.as_str().trim_end_matches('.');
                    if let Some(kind) = host_kind(host, true) {
                        add(h.start(), h.start() + host.len(), 0, kind, host);
                    }
                }
            }
            for c in p.unc_host.captures_iter(s) {
                if let Some(h) = c.get(1) {
                    if let Some(kind) = host_kind(h.as_str(), true) {
                        add(h.start(), h.end(), 0, kind, h.as_str());
                    }
                }
            }
            for c in p.tilde.captures_iter(s) {
                if let Some(u) = c.get(2) {
                    add(u.start(), u.end(), 1, Kind::User, u.as_str());
                }
            }
            // `key: value` pairs that name an identifier.
            for c in p.key_value.captures_iter(s) {
                let (Some(k), Some(v)) = (c.get(1), c.get(2)) else {
                    continue;
                };
                // `uid` and `user id` only before a number, or they would eat prose.
                let Some(kind) = key_kind(k.as_str()) else {
                    continue;
                };
                let between = &s[k.end()..v.start()];
                let has_sep = between.contains([':', '=']);
                let ok = match kind {
                    Kind::UserId => v.as_str().bytes().all(|b| b.is_ascii_digit()),
                    // A host or user key needs `:` or `=` (`hostname=mini`, `USER=alice`), not
                    // just a space ("the user ran").
                    Kind::Host => has_sep,
                    Kind::User => has_sep && looks_like_person(v.as_str()),
                    _ => has_sep || v.as_str().len() >= 8,
                };
                if ok && !matches!(v.as_str(), "0" | "localhost") {
                    let value = v.as_str().trim_end_matches('.');
                    add(v.start(), v.start() + value.len(), 0, kind, value);
                }
            }
            for c in p.mac.captures_iter(s) {
                if let Some(m) = c.get(2) {
                    add(m.start(), m.end(), 3, Kind::Mac, m.as_str());
                }
            }
            for m in p.mac_dots.find_iter(s) {
                if m.as_str().bytes().any(|b| b.is_ascii_digit()) {
                    add(m.start(), m.end(), 3, Kind::Mac, m.as_str());
                }
            }
            for c in p.ipv4.captures_iter(s) {
                if let Some(m) = c.get(2) {
                    if let Ok(ip) = m.as_str().parse::<std::net::Ipv4Addr>() {
                        if !ip.is_loopback() && !ip.is_unspecified() {
                            add(m.start(), m.end(), 3, Kind::Ip, m.as_str());
                        }
                    }
                }
            }
            for c in p.ipv6.captures_iter(s) {
                let Some(m) = c.get(2) else { continue };
                // The candidate must end at a word edge: `dead::beef::x` is no address.
                let next = s[m.end()..].chars().next();
                if next.is_some_and(|c| c.is_ascii_alphanumeric() || c == ':' || c == '_') {
                    continue;
                }
                let addr = m.as_str().split('%').next().unwrap_or("");
                let Ok(ip) = addr.parse::<std::net::Ipv6Addr>() else {
                    continue;
                };
                if ip.is_loopback()
                    || ip.is_unspecified()
                    || !addr.bytes().any(|b| b.is_ascii_digit())
                {
                    continue;
                }
                add(m.start(), m.end(), 3, Kind::Ip, m.as_str());
            }
            for c in p.host_local.captures_iter(s) {
                if let Some(h) = c.get(1) {
                    add(h.start(), h.end(), 4, Kind::Host, h.as_str());
                }
            }
            for m in p
                .host_model
                .find_iter(s)
                .chain(p.host_possessive.find_iter(s))
            {
                add(m.start(), m.end(), 4, Kind::Host, m.as_str());
                // The owner's name the computer is named after: `Alice's MacBook Pro`,
                // `Alices-MacBook-Pro` (macOS drops the apostrophe) → `alice`.
                let first = m.as_str().split(['\'', '’', '-', ' ']).next().unwrap_or("");
                let owner = if m.as_str().contains(['\'', '’']) {
                    first
                } else {
                    first.strip_suffix(['s', 'S']).unwrap_or("")
                };
                if owner.len() >= 3 && looks_like_person(owner) {
                    learn_users.push(owner.to_string());
                }
            }
            for c in p.fqdn.captures_iter(s) {
                let Some(h) = c.get(2) else { continue };
                if host_kind(h.as_str(), false) == Some(Kind::Host) {
                    add(h.start(), h.end(), 5, Kind::Host, h.as_str());
                }
            }
            for m in p.serial_shape.find_iter(s) {
                let v = m.as_str();
                let digits = v.bytes().filter(u8::is_ascii_digit).count();
                let letters = v.len() - digits;
                if digits >= 2 && letters >= 2 {
                    add(m.start(), m.end(), 6, Kind::Serial, v);
                }
            }
        }
        // Learnt values: opaque keys anywhere as a token; names as words in free text.
        let lower = s.to_ascii_lowercase();
        for (kind, names) in &self.names {
            let opaque = kind.is_opaque();
            if !opaque && !matches!(kind, Kind::User | Kind::Host | Kind::UserId) {
                continue;
            }
            if class == Class::Code && !opaque {
                continue;
            }
            for name in names.keys() {
                if name.len() < 2 || (*kind == Kind::UserId && name.len() < 3) {
                    continue;
                }
                for (i, _) in lower.match_indices(name.as_str()) {
                    let end = i + name.len();
                    let ok = if opaque {
                        token_edges(s, i, end)
                    } else if *kind == Kind::UserId {
                        false // numbers only with their key (above)
                    } else {
                        word_edges(s, i, end)
                    };
                    if ok {
                        found.push(Span {
                            start: i,
                            end,
                            prio: 7,
                            kind: *kind,
                            value: s[i..end].to_string(),
                        });
                    }
                }
            }
        }
        // Higher priority first, then leftmost, then longest; keep what does not overlap.
        found.sort_by(|a, b| {
            (a.prio, a.start, std::cmp::Reverse(a.end)).cmp(&(
                b.prio,
                b.start,
                std::cmp::Reverse(b.end),
            ))
        });
        let mut kept: Vec<Span> = Vec::new();
        for sp in found {
            if kept.iter().all(|k| sp.end <= k.start || sp.start >= k.end) {
                kept.push(sp);
            }
        }
        kept.sort_by_key(|sp| sp.start);
        for sp in &kept {
            match sp.kind {
                // A fully qualified host's first label gets the same pseudonym.
                Kind::Host => {
                    if let Some((first, rest)) = sp.value.split_once('.') {
                        if first.len() >= 3 && !rest.eq_ignore_ascii_case("local") {
                            self.alias_same(Kind::Host, &sp.value, first);
                            continue;
                        }
                    }
                    self.alias(sp.kind, &sp.value);
                }
                k => {
                    self.alias(k, &sp.value);
                }
            }
        }
        for u in learn_users {
            self.alias(Kind::User, &u);
        }
        Ok(kept)
    }
}

/// Redact a writeup with a fresh [`Redactor`]; returns it so callers can see the mapping.
pub fn redact_writeup(w: &mut Writeup) -> Result<Redactor, RedactError> {
    let mut r = Redactor::new()?;
    r.redact_writeup(w)?;
    Ok(r)
}

/// Is `host` (a dotted or bare name) a machine to hide? `in_url`: a bare name after `@` or
/// `://` is one (`ssh://erin@buildbox`); in prose only dotted names are.
fn host_kind(host: &str, in_url: bool) -> Option<Kind> {
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    if h.is_empty() || h == "localhost" || is_pseudonym(&h) {
        return None;
    }
    if h.parse::<std::net::Ipv4Addr>().is_ok() {
        return Some(Kind::Ip);
    }
    if PUBLIC_HOSTS
        .iter()
        .any(|p| h == *p || h.ends_with(&format!(".{p}")))
    {
        return None;
    }
    let labels: Vec<&str> = h.split('.').collect();
    if is_pseudonym(labels[0]) {
        return None;
    }
    let tld = labels.last().copied().unwrap_or("");
    if labels.len() == 1 {
        return in_url.then_some(Kind::Host);
    }
    if PRIVATE_TLDS.contains(&tld) {
        return Some(Kind::Host);
    }
    if PUBLIC_TLDS.contains(&tld) && (labels.len() >= 3 || in_url) {
        return Some(Kind::Host);
    }
    None
}

fn looks_like_person(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.len() >= 2
        && n.len() <= 32
        && n.starts_with(|c: char| c.is_ascii_alphabetic())
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && !NOT_PEOPLE.contains(&n.as_str())
        && !is_pseudonym(&n)
}

/// A pseudonym this module hands out (`user3`, `email1@example.invalid`): left alone, so
/// redacting twice changes nothing more.
fn is_pseudonym(s: &str) -> bool {
    let s = s.strip_suffix("@example.invalid").unwrap_or(s);
    Kind::ALL.iter().any(|k| {
        s.strip_prefix(k.as_str())
            .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// An opaque token's edges: no letter or digit on either side.
fn token_edges(s: &str, start: usize, end: usize) -> bool {
    let before = s[..start].chars().next_back();
    let after = s[end..].chars().next();
    !before.is_some_and(|c| c.is_alphanumeric())
        && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
}

/// A learnt name as a word of prose: between spaces and sentence punctuation, never joined
/// to code by `::`, `.`, `/`, `\`, `-`, `_`, `@` or `$` (`at::native::mps::x`, `torch.mps`,
/// `/usr/lib`, `libsystem_kernel`).
fn word_edges(s: &str, start: usize, end: usize) -> bool {
    let mut back = s[..start].chars().rev();
    let before = back.next();
    let before2 = back.next();
    let mut fwd = s[end..].chars();
    let after = fwd.next();
    let after2 = fwd.next();
    let edge_before = match before {
        None => true,
        Some(c) if c.is_whitespace() => true,
        Some(':') => before2 != Some(':'),
        Some(c) => "\"'`([{,;=<>!?*|".contains(c),
    };
    let edge_after = match after {
        None => true,
        Some(c) if c.is_whitespace() => true,
        Some('.') => after2.is_none_or(char::is_whitespace),
        Some(':') => after2 != Some(':'),
        Some(c) => "\"'`)]},;!?*|<>’".contains(c),
    };
    edge_before && edge_after
}

/// Call `f` on every string of the writeup with its class, in a fixed order. Configuration
/// values are handled apart (their key says what they are).
fn visit_strings(w: &mut Writeup, f: &mut dyn FnMut(&mut String, Class)) {
    use Class::{Code, Text};
    f(&mut w.title, Text);
    for b in std::iter::once(&mut w.block).chain(w.against.iter_mut()) {
        f(&mut b.label, Text);
    }
    for x in &mut w.fixes {
        f(&mut x.name, Text);
        if let Some(p) = &mut x.path {
            f(p, Text);
        }
        if let Some(v) = &mut x.current_version {
            f(v, Code);
        }
    }
    for r in w
        .raw_batches
        .iter_mut()
        .chain(std::iter::once(&mut w.raw_total))
        .chain(w.retry_batches.iter_mut())
        .chain(std::iter::once(&mut w.retry_total))
    {
        f(&mut r.label, Text);
    }
    for b in &mut w.breakdowns {
        for r in &mut b.rows {
            f(&mut r.value, Text);
            f(&mut r.raw.label, Text);
            f(&mut r.eventual.label, Text);
        }
    }
    for b in &mut w.buckets {
        f(&mut b.signature, Code);
        for o in [&mut b.pattern, &mut b.pattern_title].into_iter().flatten() {
            f(o, Code);
        }
        for s in b.stack.iter_mut().chain(b.pytorch_ops.iter_mut()) {
            f(s, Code);
        }
        if let Some(i) = &mut b.example_incident {
            f(i, Code);
        }
        for h in &mut b.hits {
            if let Some(i) = &mut h.incident_id {
                f(i, Code);
            }
            if let Some(host) = &mut h.host {
                f(host, Text);
            }
        }
    }
    if let Some(c) = &mut w.comparison {
        f(&mut c.a_label, Text);
        f(&mut c.b_label, Text);
        let c = &mut c.comparison;
        for side in [&mut c.a, &mut c.b] {
            for b in &mut side.buckets {
                f(&mut b.signature, Code);
                if let Some(p) = &mut b.pattern {
                    f(p, Code);
                }
            }
        }
        for b in c.new_buckets.iter_mut().chain(c.gone_buckets.iter_mut()) {
            f(&mut b.signature, Code);
            if let Some(p) = &mut b.pattern {
                f(p, Code);
            }
        }
    }
    for bc in &mut w.bucket_correlations {
        f(&mut bc.signature, Code);
        if let Some(p) = &mut bc.pattern {
            f(p, Code);
        }
        for c in &mut bc.top {
            f(&mut c.attribute, Text);
            f(&mut c.value, Code);
        }
    }
    for c in &mut w.bucket_counts_by_fix {
        f(&mut c.fix, Text);
        f(&mut c.bucket, Code);
    }
    if let Some(l) = &mut w.report_links {
        f(l, Text);
    }
    for n in &mut w.notes {
        f(n, Text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn red(r: &mut Redactor, s: &str) -> String {
        r.redact(s, Class::Text).unwrap()
    }

    #[test]
    fn every_rule_builds() {
        // Regression: a rule that failed to build used to match nothing, silently.
        assert!(patterns().is_ok());
    }

    // Regression: a rule that did not build became one that never matches, and the writeup
    // went out unredacted. It is a typed error naming the rule, which the writeup passes on
    // unchanged (the CLI prints it and exits 2).
    #[test]
    fn a_rule_that_does_not_build_is_an_error_naming_it() {
        let err = rule("email", r"(?i)[a-z0-9._%+-]+@[a-z").unwrap_err();
        assert_eq!(err.code(), "pattern");
        assert!(matches!(err, RedactError::Pattern { name: "email", .. }));
        let message = err.to_string();
        assert!(
            message.starts_with("redaction rule email does not build, so nothing is written"),
            "{message}"
        );
        let gathered = crate::ops::writeup::GatherError::from(err);
        assert_eq!(gathered.to_string(), message);
        assert!(rule("email", r"[a-z]+@example\.com").is_ok());
    }

    #[test]
    fn home_paths_of_every_platform() {
        let mut r = Redactor::new().unwrap();
        assert_eq!(
            red(&mut r, "/Users/alice/agx_fix/build/libagx_fix_v2_3.dylib"),
            "/Users/user1/agx_fix/build/libagx_fix_v2_3.dylib"
        );
        assert_eq!(red(&mut r, "/home/bob/venv"), "/home/user2/venv");
        assert_eq!(red(&mut r, r"C:\Users\carol\py"), r"C:\Users\user3\py");
        assert_eq!(red(&mut r, "see ~dave/src"), "see ~user4/src");
        assert_eq!(
            red(&mut r, "run by alice on /Users/alice"),
            "run by user1 on /Users/user1"
        );
        assert_eq!(red(&mut r, "/Users/Shared/x"), "/Users/Shared/x");
        assert_eq!(red(&mut r, "Foo::~Foo()"), "Foo::~Foo()");
    }

    #[test]
    fn urls_accounts_and_addresses() {
        let mut r = Redactor::new().unwrap();
        assert_eq!(red(&mut r, "ssh://erin@buildbox/x"), "ssh://user1@host1/x");
        assert_eq!(
            red(&mut r, "https://github.com/frank/agx"),
            "https://github.com/user2/agx"
        );
        assert_eq!(
            red(&mut r, "mail alice@example.com or ALICE@example.com"),
            "mail email1@example.invalid or email1@example.invalid"
        );
        assert_eq!(
            red(
                &mut r,
                "at 192.168.1.23, fe80::1c2b:3d4e:5f60:7a8b%en0 and a4:83:e7:12:34:56."
            ),
            "at ip1, ip2 and mac1."
        );
        assert_eq!(red(&mut r, "on build-7.corp.example.com"), "on host2");
        assert_eq!(red(&mut r, "build-7 again"), "host2 again");
        assert_eq!(
            red(&mut r, "version 2.9.1 and 15.7.3 (24G419)"),
            "version 2.9.1 and 15.7.3 (24G419)"
        );
        assert_eq!(
            red(&mut r, "torch.nn.functional.py"),
            "torch.nn.functional.py"
        );
        assert_eq!(
            red(
                &mut r,
                "https://veltrona.io/x http://buildbox:8080 \\\\nas7\\logs"
            ),
            "https://host3/x http://host1:8080 \\\\host4\\logs"
        );
        assert_eq!(red(&mut r, "::ffff:10.1.2.3"), "ip3");
        assert_eq!(
            red(&mut r, "env USER=gwendal HOME=x"),
            "env USER=user4 HOME=x"
        );
        assert_eq!(red(&mut r, "the user ran it"), "the user ran it");
    }

    #[test]
    fn keys_and_serials() {
        let mut r = Redactor::new().unwrap();
        assert_eq!(
            red(
                &mut r,
                "crashReporterKey: 3F2A9C1B-77E0-4B8F-9D1A-6C5E4B3A2F10"
            ),
            "crashReporterKey: crkey1"
        );
        assert_eq!(
            red(
                &mut r,
                "\"sleepWakeUUID\" : \"0E2F5D3C-1A2B-4C5D-8E9F-A0B1C2D3E4F5\""
            ),
            "\"sleepWakeUUID\" : \"sleepwake1\""
        );
        assert_eq!(
            red(&mut r, "Serial Number (system): C02XL0GHJGH5"),
            "Serial Number (system): serial1"
        );
        assert_eq!(red(&mut r, "again C02XL0GHJGH5"), "again serial1");
        assert_eq!(red(&mut r, "userID=501"), "userID=uid1");
        assert_eq!(red(&mut r, "hostname=alices-mac-mini"), "hostname=host1");
        assert_eq!(red(&mut r, "Bob's MacBook Air"), "host2");
        // `alices-mac-mini` above taught `alice` (user1).
        assert_eq!(red(&mut r, "Bob said hi"), "user2 said hi");
    }

    #[test]
    fn look_alikes_change_no_symbol() {
        let mut r = Redactor::new().unwrap();
        for u in ["mps", "lib", "system"] {
            r.register_user(u);
        }
        for s in [
            "at::native::mps::gatherViewTensor(at::Tensor const&)",
            "libsystem_kernel.dylib",
            "/usr/lib/libobjc.A.dylib",
            "/System/Library/Extensions/AGXMetalG16X.bundle",
            "torch.mps.synchronize",
        ] {
            assert_eq!(r.redact(s, Class::Code).unwrap(), s);
            assert_eq!(r.redact(s, Class::Text).unwrap(), s);
        }
        assert_eq!(red(&mut r, "ran by mps: ok"), "ran by user1: ok");
    }

    #[test]
    fn redacting_twice_changes_nothing_more() {
        let mut r = Redactor::new().unwrap();
        let once = red(
            &mut r,
            "/Users/alice/x on alice-mini.local, 10.0.4.17, alice@example.com, github.com/alice",
        );
        let mut r2 = Redactor::new().unwrap();
        assert_eq!(red(&mut r2, &once), once);
    }
}
