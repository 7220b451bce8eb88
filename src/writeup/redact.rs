//! Redaction of personal names before a writeup is published.
//!
//! Crash reports and configurations leak who ran them: `/Users/alice/agx_fix/build/...`,
//! `/home/bob/venv/...`, `Alices-MacBook-Pro.local`, `alice@example.com`. A [`Redactor`]
//! replaces each with a pseudonym (`user1`, `host1`, `email1@example.invalid`), the same
//! pseudonym for the same name throughout one writeup, so "the same user ran both blocks" stays
//! visible. It works in two passes over every string of a [`Writeup`]: first it collects names
//! (so a user name found in a path is also replaced where it appears on its own), then it
//! replaces. It must not change numbers or structure, only text.

use super::model::Writeup;
use regex::Regex;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Replaces user names, host names and e-mail addresses with stable pseudonyms.
#[derive(Debug, Default, Clone)]
pub struct Redactor {
    /// Lowercased original → pseudonym, per kind.
    users: BTreeMap<String, String>,
    hosts: BTreeMap<String, String>,
    emails: BTreeMap<String, String>,
}

struct Patterns {
    email: Regex,
    home: Regex,
    host_local: Regex,
    host_model: Regex,
    host_possessive: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| Patterns {
        // The patterns are constants; a failure here is a bug caught by the unit tests, so
        // fall back to a never-matching regex rather than panicking on a user's input path.
        email: re(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"),
        // `/Users/NAME` and `/home/NAME`, also `~NAME`-free forms inside longer text.
        home: re(r"(/Users/|/home/)([^/\s:;,'`()]+)"),
        // Bonjour names: `Alices-MacBook-Pro.local`, `build-mini-3.local`.
        host_local: re(r"\b([A-Za-z0-9][A-Za-z0-9-]*)\.local\b"),
        // Bare computer host names macOS derives from the owner's name.
        host_model: re(
            r"\b[A-Za-z0-9][A-Za-z0-9-]*-(?:MacBook-Pro|MacBook-Air|MacBook|Mac-mini|Mac-Studio|Mac-Pro|iMac)(?:-\d+)?\b",
        ),
        // The computer name as System Settings shows it: `Alice's MacBook Pro`.
        host_possessive: re(
            r"\b[A-Za-z0-9]+['’]s (?:MacBook Pro|MacBook Air|MacBook|Mac mini|Mac Studio|Mac Pro|iMac)\b",
        ),
    })
}

fn re(p: &str) -> Regex {
    Regex::new(p).unwrap_or_else(|_| {
        // `[^\s\S]` matches nothing.
        Regex::new(r"[^\s\S]").unwrap_or_else(|_| unreachable!("constant regex"))
    })
}

/// Folders under /Users that are not people.
const NOT_USERS: &[&str] = &["Shared", "Guest", "Deleted Users", "runner"];

impl Redactor {
    /// An empty redactor.
    pub fn new() -> Self {
        Self::default()
    }

    /// Treat `name` as a user name wherever it appears as a whole word.
    pub fn register_user(&mut self, name: &str) {
        self.user_alias(name);
    }

    /// Treat `name` as a host name wherever it appears as a whole word.
    pub fn register_host(&mut self, name: &str) {
        self.host_alias(name);
    }

    fn user_alias(&mut self, name: &str) -> String {
        alias(&mut self.users, name, |n| format!("user{n}"))
    }

    fn host_alias(&mut self, name: &str) -> String {
        alias(&mut self.hosts, name, |n| format!("host{n}"))
    }

    /// First pass: learn the names in `s` without changing it.
    fn learn(&mut self, s: &str) {
        let p = patterns();
        for m in p.email.find_iter(s) {
            alias(&mut self.emails, m.as_str(), |n| {
                format!("email{n}@example.invalid")
            });
        }
        for c in p.home.captures_iter(s) {
            if let Some(name) = c.get(2) {
                let name = name.as_str();
                if !NOT_USERS.contains(&name) && !is_pseudonym(name, "user") {
                    self.user_alias(name);
                }
            }
        }
        for c in p.host_local.captures_iter(s) {
            if let Some(h) = c.get(1) {
                if !is_pseudonym(h.as_str(), "host") {
                    self.host_alias(h.as_str());
                }
            }
        }
        for m in p
            .host_model
            .find_iter(s)
            .chain(p.host_possessive.find_iter(s))
        {
            self.host_alias(m.as_str());
        }
    }

    /// Redact one string with the names learnt so far (and any new ones it holds).
    pub fn redact(&mut self, s: &str) -> String {
        self.learn(s);
        let p = patterns();
        let mut out = p
            .email
            .replace_all(s, |c: &regex::Captures| {
                lookup(&self.emails, &c[0]).unwrap_or_else(|| c[0].to_string())
            })
            .into_owned();
        out = p
            .home
            .replace_all(&out, |c: &regex::Captures| {
                let name = lookup(&self.users, &c[2]).unwrap_or_else(|| c[2].to_string());
                format!("{}{name}", &c[1])
            })
            .into_owned();
        // Known host names first (longest first so `Alices-MacBook-Pro` wins over `Alice`),
        // then the user names as whole words.
        out = replace_words(&out, &self.hosts);
        out = replace_words(&out, &self.users);
        out
    }

    /// Redact every string of a writeup in place, consistently.
    pub fn redact_writeup(&mut self, w: &mut Writeup) {
        // Learn everything first so that a name seen in a later field (a path in the fixes
        // list) is also replaced in an earlier one (the title).
        visit_strings(w, &mut |s: &mut String| self.learn(s));
        visit_strings(w, &mut |s: &mut String| *s = self.redact(s));
    }

    /// The pseudonyms given so far: `(original, pseudonym)`, for the caller's own records.
    pub fn mapping(&self) -> Vec<(String, String)> {
        self.users
            .iter()
            .chain(self.hosts.iter())
            .chain(self.emails.iter())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// Redact a writeup with a fresh [`Redactor`]; returns it so callers can see the mapping.
pub fn redact_writeup(w: &mut Writeup) -> Redactor {
    let mut r = Redactor::new();
    r.redact_writeup(w);
    r
}

fn is_pseudonym(name: &str, prefix: &str) -> bool {
    name.strip_prefix(prefix)
        .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
}

/// The pseudonym of `name` (case-insensitive), assigning the next number when it is new.
fn alias(map: &mut BTreeMap<String, String>, name: &str, make: impl Fn(usize) -> String) -> String {
    let key = name.to_lowercase();
    if let Some(v) = map.get(&key) {
        return v.clone();
    }
    let v = make(map.len() + 1);
    map.insert(key, v.clone());
    v
}

fn lookup(map: &BTreeMap<String, String>, name: &str) -> Option<String> {
    map.get(&name.to_lowercase()).cloned()
}

/// Replace every whole-word, case-insensitive occurrence of the map's keys.
fn replace_words(s: &str, map: &BTreeMap<String, String>) -> String {
    if map.is_empty() {
        return s.to_string();
    }
    let mut keys: Vec<&String> = map.keys().collect();
    keys.sort_by_key(|k| std::cmp::Reverse(k.len()));
    let alternation: Vec<String> = keys.iter().map(|k| regex::escape(k)).collect();
    // Word edges by hand: `\b` would not fire next to a name that starts or ends with `-`.
    let pattern = format!(
        r"(?i)(^|[^A-Za-z0-9_])({})($|[^A-Za-z0-9_])",
        alternation.join("|")
    );
    let Ok(rx) = Regex::new(&pattern) else {
        return s.to_string();
    };
    // Adjacent matches share an edge character, so run until nothing changes.
    let mut out = s.to_string();
    for _ in 0..4 {
        let next = rx
            .replace_all(&out, |c: &regex::Captures| {
                let name = lookup(map, &c[2]).unwrap_or_else(|| c[2].to_string());
                format!("{}{name}{}", &c[1], &c[3])
            })
            .into_owned();
        if next == out {
            break;
        }
        out = next;
    }
    out
}

/// Call `f` on every string of the writeup, in a fixed order.
fn visit_strings(w: &mut Writeup, f: &mut dyn FnMut(&mut String)) {
    f(&mut w.title);
    for b in std::iter::once(&mut w.block).chain(w.against.iter_mut()) {
        f(&mut b.label);
    }
    for x in &mut w.fixes {
        f(&mut x.name);
        if let Some(p) = &mut x.path {
            f(p);
        }
        f(&mut x.sha256);
        f(&mut x.md5);
        for s in &mut x.slices {
            f(&mut s.arch);
            f(&mut s.uuid);
        }
        if let Some(v) = &mut x.current_version {
            f(v);
        }
    }
    for r in w
        .raw_batches
        .iter_mut()
        .chain(std::iter::once(&mut w.raw_total))
        .chain(w.retry_batches.iter_mut())
        .chain(std::iter::once(&mut w.retry_total))
    {
        f(&mut r.label);
    }
    for b in &mut w.buckets {
        f(&mut b.signature);
        for o in [
            &mut b.pattern,
            &mut b.pattern_title,
            &mut b.example_incident,
        ]
        .into_iter()
        .flatten()
        {
            f(o);
        }
        for s in b.stack.iter_mut().chain(b.pytorch_ops.iter_mut()) {
            f(s);
        }
        for h in &mut b.hits {
            if let Some(i) = &mut h.incident_id {
                f(i);
            }
        }
    }
    if let Some(c) = &mut w.comparison {
        f(&mut c.a_label);
        f(&mut c.b_label);
        for side in [&mut c.a, &mut c.b] {
            for b in &mut side.buckets {
                f(&mut b.signature);
                if let Some(p) = &mut b.pattern {
                    f(p);
                }
            }
        }
        for s in c.new_buckets.iter_mut().chain(c.gone_buckets.iter_mut()) {
            f(s);
        }
    }
    for c in &mut w.bucket_counts_by_fix {
        f(&mut c.fix);
        f(&mut c.bucket);
    }
    for (k, v) in &mut w.config {
        f(k);
        f(v);
    }
    if let Some(l) = &mut w.report_links {
        f(l);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_paths_get_the_same_pseudonym_everywhere() {
        let mut r = Redactor::new();
        assert_eq!(
            r.redact("/Users/alice/agx_fix/build/libagx_fix_v2_3.dylib"),
            "/Users/user1/agx_fix/build/libagx_fix_v2_3.dylib"
        );
        assert_eq!(r.redact("/home/bob/venv"), "/home/user2/venv");
        assert_eq!(
            r.redact("run by alice on /Users/alice"),
            "run by user1 on /Users/user1"
        );
        assert_eq!(r.redact("/Users/Shared/x"), "/Users/Shared/x");
    }

    #[test]
    fn host_names_and_emails() {
        let mut r = Redactor::new();
        assert_eq!(r.redact("Alices-MacBook-Pro.local"), "host1.local");
        assert_eq!(r.redact("on Alices-MacBook-Pro today"), "on host1 today");
        assert_eq!(r.redact("Bob's MacBook Air"), "host2");
        assert_eq!(
            r.redact("mail alice@example.com or alice@example.com"),
            "mail email1@example.invalid or email1@example.invalid"
        );
    }

    #[test]
    fn registered_names_are_whole_words_only() {
        let mut r = Redactor::new();
        r.register_host("buildbox7");
        r.register_user("ann");
        assert_eq!(
            r.redact("buildbox7: ann ran annotate"),
            "host1: user1 ran annotate"
        );
    }

    #[test]
    fn redacting_twice_changes_nothing_more() {
        let mut r = Redactor::new();
        let once = r.redact("/Users/alice/x on alice-mini.local");
        let mut r2 = Redactor::new();
        assert_eq!(r2.redact(&once), once);
    }
}
