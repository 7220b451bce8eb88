//! A JSON value with ordered keys and the two printing styles macOS's ReportCrash mixes.
//!
//! `serde_json` cannot reproduce them: the body of an `.ips` file is pretty-printed with
//! `" : "` between key and value, yet `threads`, `exception` and most other values sit on one
//! line, `/` is escaped as `\/`, empty containers print as an opening bracket, an empty line and
//! the closing bracket, and the values after `threads` (`usedImages`, `trialInfo`, ...) are
//! printed as if they stood alone, so their inner lines are one level shallower than their key:
//!
//! ```text
//!   "threads" : [{"id":1,"frames":[...]}],
//!   "usedImages" : [
//!   {
//!     "source" : "P",
//! ```

use std::fmt::Write as _;

/// A JSON value whose objects keep their key order.
#[derive(Clone, Debug, PartialEq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A signed integer.
    Int(i64),
    /// An unsigned integer (addresses, sizes).
    UInt(u64),
    /// A number literal written as given (`14.6`).
    Num(String),
    /// A string, escaped on output.
    Str(String),
    /// An array.
    Arr(Vec<Json>),
    /// An object, keys in output order.
    Obj(Vec<(String, Json)>),
}

/// A string value.
pub fn s(v: impl Into<String>) -> Json {
    Json::Str(v.into())
}

/// An unsigned number.
pub fn u(v: u64) -> Json {
    Json::UInt(v)
}

/// An object from `(key, value)` pairs, in order.
pub fn obj(fields: Vec<(&str, Json)>) -> Json {
    Json::Obj(
        fields
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

/// Writes `text` as a JSON string; `slash` escapes `/` as `\/`, as macOS does inside reports.
pub fn escape(text: &str, slash: bool, out: &mut String) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' if slash => out.push_str("\\/"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl Json {
    /// One line, no spaces (the header line, `threads`, `exception`...). `slash` escapes `/`
    /// as macOS does inside reports.
    pub fn compact(&self, slash: bool, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Json::UInt(v) => {
                let _ = write!(out, "{v}");
            }
            Json::Num(n) => out.push_str(n),
            Json::Str(t) => escape(t, slash, out),
            Json::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.compact(slash, out);
                }
                out.push(']');
            }
            Json::Obj(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    escape(k, slash, out);
                    out.push(':');
                    v.compact(slash, out);
                }
                out.push('}');
            }
        }
    }

    /// Apple's pretty style: two-space steps, `"key" : value`, empty containers printed as an
    /// opening bracket, an empty line and the closing bracket.
    pub fn pretty(&self, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        let inner = " ".repeat(indent + 2);
        match self {
            Json::Arr(items) => {
                out.push_str("[\n");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(",\n");
                    }
                    out.push_str(&inner);
                    item.pretty(indent + 2, out);
                }
                out.push('\n');
                out.push_str(&pad);
                out.push(']');
            }
            Json::Obj(fields) => {
                out.push_str("{\n");
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push_str(",\n");
                    }
                    out.push_str(&inner);
                    escape(k, true, out);
                    out.push_str(" : ");
                    v.pretty(indent + 2, out);
                }
                out.push('\n');
                out.push_str(&pad);
                out.push('}');
            }
            scalar => scalar.compact(true, out),
        }
    }

    /// [`Json::compact`] into a new string.
    pub fn to_compact(&self, slash: bool) -> String {
        let mut out = String::new();
        self.compact(slash, &mut out);
        out
    }
}

/// How one top-level body key is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    /// On one line (`"exception" : {"codes":...}`).
    Line,
    /// Pretty, nested under the top level (`osVersion`).
    Nested,
    /// Pretty as if it stood alone: inner lines one level shallower (`usedImages`, `trialInfo`).
    Detached,
}

/// The body of an `.ips` file: a top-level object, each key printed in its own [`Style`],
/// ending with a newline.
pub fn render_body<K: AsRef<str>>(fields: &[(K, Json, Style)]) -> String {
    let mut out = String::from("{\n");
    for (i, (key, value, style)) in fields.iter().enumerate() {
        if i > 0 {
            out.push_str(",\n");
        }
        out.push_str("  ");
        escape(key.as_ref(), true, &mut out);
        out.push_str(" : ");
        match style {
            Style::Line => value.compact(true, &mut out),
            Style::Nested => value.pretty(2, &mut out),
            Style::Detached => value.pretty(0, &mut out),
        }
    }
    out.push_str("\n}\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slashes_are_escaped_in_reports_only_when_asked() {
        let v = obj(vec![("path", s("/usr/lib/dyld"))]);
        assert_eq!(v.to_compact(true), r#"{"path":"\/usr\/lib\/dyld"}"#);
        assert_eq!(v.to_compact(false), r#"{"path":"/usr/lib/dyld"}"#);
    }

    #[test]
    fn empty_containers_print_an_empty_line() {
        let mut out = String::new();
        obj(vec![("experiments", Json::Arr(vec![]))]).pretty(0, &mut out);
        assert_eq!(out, "{\n  \"experiments\" : [\n\n  ]\n}");
    }

    #[test]
    fn detached_values_are_one_level_shallower() {
        let body = render_body(&[
            ("a", obj(vec![("b", u(1))]), Style::Nested),
            ("c", obj(vec![("d", u(2))]), Style::Detached),
            ("e", Json::Arr(vec![u(3)]), Style::Line),
        ]);
        assert_eq!(
            body,
            "{\n  \"a\" : {\n    \"b\" : 1\n  },\n  \"c\" : {\n  \"d\" : 2\n},\n  \"e\" : [3]\n}\n"
        );
        let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["c"]["d"], 2);
    }
}
