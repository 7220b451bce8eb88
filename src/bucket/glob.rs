//! Frame globs: the pattern language of the frame lists, the rules' frame conditions and
//! `reports --frame GLOB`.
//!
//! Case-sensitive, anchored at both ends: `*` matches any run of characters (including none),
//! `?` one character, `[abc]` / `[a-z]` / `[!abc]` / `[^abc]` one character of a class, `\x` a
//! literal `x`. Frame names are full of brackets that are not classes, so a `[` is literal when
//!
//! - it follows a leading `-` or `+` (`-[AGXG*FamilyComputeContext setBuffer:offset:atIndex:]`
//!   is an Objective-C method, not `-` followed by a class), or
//! - no `]` closes it, or the would-be class holds white space (`[clone .cold.1]`).
//!
//! A glob is translated once into an anchored [`regex::Regex`]; matching is a regex search,
//! no backtracking of our own.

use regex::Regex;

use super::normalize::normalize_symbol;
use super::rules::RuleError;

/// One compiled frame glob, as returned by [`frame_glob`].
#[derive(Debug, Clone)]
pub struct FrameMatcher {
    pattern: String,
    regex: Regex,
}

/// Compile a frame glob (see the module docs for the syntax).
///
/// ```
/// use agx_triage::bucket::frame_glob;
/// let m = frame_glob("-[AGXG1?XFamilyComputeContext set*]").unwrap();
/// assert!(m.matches("-[AGXG16XFamilyComputeContext setBuffer:offset:atIndex:]"));
/// assert!(!m.matches("-[AGXG16XFamilyComputeContext dispatchThreads:threadsPerThreadgroup:]"));
/// ```
pub fn frame_glob(pattern: &str) -> Result<FrameMatcher, RuleError> {
    let regex = compile_globs(&[pattern])?;
    Ok(FrameMatcher {
        pattern: pattern.to_string(),
        regex,
    })
}

impl FrameMatcher {
    /// True when the glob matches `symbol` as written or its normalised form
    /// ([`normalize_symbol`]), so `AGX::ComputeContext<T>::prepareForEnqueue` and
    /// `*prepareForEnqueue(bool)` both find `AGX::ComputeContext<AGX::G16::...>::prepareForEnqueue(bool)`.
    pub fn matches(&self, symbol: &str) -> bool {
        self.regex.is_match(symbol) || self.regex.is_match(&normalize_symbol(symbol))
    }

    /// True when the glob matches `symbol` exactly as given (no normalisation).
    pub fn matches_exact(&self, symbol: &str) -> bool {
        self.regex.is_match(symbol)
    }

    /// The glob as written.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }
}

/// Compile several globs into one anchored alternation: a match of any of them.
pub(crate) fn compile_globs<S: AsRef<str>>(patterns: &[S]) -> Result<Regex, RuleError> {
    let re = globs_regex_text(patterns)?;
    Regex::new(&re).map_err(|e| RuleError::Glob {
        pattern: patterns
            .iter()
            .map(|p| p.as_ref())
            .collect::<Vec<_>>()
            .join(", "),
        message: e.to_string(),
    })
}

/// The regex text [`compile_globs`] compiles (for callers that compile it later).
pub(crate) fn globs_regex_text<S: AsRef<str>>(patterns: &[S]) -> Result<String, RuleError> {
    // `(?s)`: `*` spans any character, newlines included.
    let mut re = String::from("(?s)^(?:");
    for (n, p) in patterns.iter().enumerate() {
        if n > 0 {
            re.push('|');
        }
        re.push_str("(?:");
        glob_to_regex(p.as_ref(), &mut re)?;
        re.push(')');
    }
    re.push_str(")$");
    Ok(re)
}

fn glob_to_regex(pattern: &str, out: &mut String) -> Result<(), RuleError> {
    if pattern.is_empty() {
        return Err(RuleError::Glob {
            pattern: String::new(),
            message: "empty glob".to_string(),
        });
    }
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    let mut buf = [0u8; 4];
    while i < chars.len() {
        let c = chars[i];
        match c {
            '*' => {
                // Runs of `*` are one wildcard.
                while i + 1 < chars.len() && chars[i + 1] == '*' {
                    i += 1;
                }
                out.push_str(".*");
            }
            '?' => out.push('.'),
            '\\' => {
                let Some(&next) = chars.get(i + 1) else {
                    return Err(RuleError::Glob {
                        pattern: pattern.to_string(),
                        message: "a trailing `\\` escapes nothing".to_string(),
                    });
                };
                out.push_str(&regex::escape(next.encode_utf8(&mut buf)));
                i += 1;
            }
            '[' => {
                let objc_start = i == 1 && matches!(chars[0], '-' | '+');
                match (!objc_start).then(|| class_end(&chars, i)).flatten() {
                    Some(end) => {
                        push_class(&chars[i + 1..end], out);
                        i = end;
                    }
                    None => out.push_str(r"\["),
                }
            }
            _ => out.push_str(&regex::escape(c.encode_utf8(&mut buf))),
        }
        i += 1;
    }
    Ok(())
}

/// Index of the `]` closing a character class opened at `open`, if the bracket is a class.
fn class_end(chars: &[char], open: usize) -> Option<usize> {
    let mut j = open + 1;
    if matches!(chars.get(j), Some('!' | '^')) {
        j += 1;
    }
    // A `]` right after the opening is a member, as in POSIX globs (`[]]`).
    if chars.get(j) == Some(&']') {
        j += 1;
    }
    while j < chars.len() {
        match chars[j] {
            ']' => return Some(j),
            c if c.is_whitespace() => return None,
            _ => {}
        }
        j += 1;
    }
    None
}

fn push_class(body: &[char], out: &mut String) {
    out.push('[');
    let mut k = 0;
    if matches!(body.first(), Some('!' | '^')) {
        out.push('^');
        k = 1;
    }
    let start = k;
    while k < body.len() {
        let c = body[k];
        // `-` between two members is a range; anywhere else it is literal.
        let is_range = c == '-' && k > start && k + 1 < body.len();
        if is_range {
            out.push('-');
        } else if matches!(c, '\\' | '[' | ']' | '^' | '-' | '&' | '~') {
            // Class metacharacters (`&&`, `~~`, `--` are set operations in `regex`).
            out.push('\\');
            out.push(c);
        } else {
            out.push(c);
        }
        k += 1;
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        frame_glob(p).unwrap().matches_exact(s)
    }

    #[test]
    fn wildcards() {
        assert!(m("objc_msgSend*", "objc_msgSend"));
        assert!(m("objc_msgSend*", "objc_msgSendSuper2"));
        assert!(!m("objc_msgSend", "objc_msgSendSuper2"));
        assert!(m("AGXG1?XFamily*", "AGXG13XFamilyComputeContext"));
        assert!(!m("AGXG1?XFamily*", "AGXG13GFamilyComputeContext"));
        assert!(m(
            "*::prepareForEnqueue",
            "AGX::ComputeContext<T>::prepareForEnqueue"
        ));
        // Case-sensitive.
        assert!(!m("abort", "Abort"));
    }

    #[test]
    fn classes() {
        assert!(m("AGXG1[3-6]XFamily*", "AGXG15XFamilyBlitContext"));
        assert!(!m("AGXG1[3-6]XFamily*", "AGXG17XFamilyBlitContext"));
        assert!(m("AGXG1[!3]XFamily*", "AGXG14XFamily"));
        assert!(!m("AGXG1[!3]XFamily*", "AGXG13XFamily"));
        assert!(m("x[-a]", "x-"));
        assert!(m("x[]]", "x]"));
    }

    #[test]
    fn objc_brackets_are_literal() {
        assert!(m(
            "-[AGXG*FamilyComputeContext setBuffer:offset:atIndex:]",
            "-[AGXG16XFamilyComputeContext setBuffer:offset:atIndex:]"
        ));
        assert!(m("-[AGX*]", "-[AGXFoo bar]"));
        assert!(!m("-[AGX*]", "-A"));
        assert!(m("+[MPS* *]", "+[MPSKernel initialize]"));
        assert!(m("foo [clone *]", "foo [clone .cold.1]"));
        assert!(m("unclosed[", "unclosed["));
        assert!(m(r"\*star", "*star"));
    }

    #[test]
    fn regex_metacharacters_are_literal() {
        assert!(m("a.b(c)|d^$", "a.b(c)|d^$"));
        assert!(!m("a.b", "axb"));
        assert!(m("std::vector<T>::push_back", "std::vector<T>::push_back"));
    }

    #[test]
    fn matches_normalised_form_too() {
        let g = frame_glob("AGX::ComputeContext<T>::prepareForEnqueue").unwrap();
        assert!(g.matches(
            "AGX::ComputeContext<AGX::G16::Encoders, AGX::G16::Classes>::prepareForEnqueue(bool)"
        ));
        assert!(
            !g.matches_exact("AGX::ComputeContext<AGX::G16::Encoders>::prepareForEnqueue(bool)")
        );
    }

    proptest::proptest! {
        #[test]
        fn any_pattern_compiles_or_errors_without_panic(p in "\\PC{0,40}") {
            let _ = frame_glob(&p);
        }

        #[test]
        fn escaped_text_matches_itself(s in "\\PC{1,40}") {
            let escaped: String = s
                .chars()
                .flat_map(|c| {
                    let esc = matches!(c, '*' | '?' | '[' | '\\').then_some('\\');
                    esc.into_iter().chain(std::iter::once(c))
                })
                .collect();
            proptest::prop_assert!(frame_glob(&escaped).unwrap().matches_exact(&s));
        }
    }

    #[test]
    fn bad_globs_are_errors() {
        assert!(frame_glob("").is_err());
        assert!(frame_glob("abc\\").is_err());
    }
}
