//! A fast reader for `.ips` objects of the common shape, beside the serde one.
//!
//! [`read_doc`] reads one header or body straight into the same [`Doc`] the serde reader
//! (`shape`) builds, without serde's visitor machinery: on the real-derived bench set, serde's
//! typed reading cost 1.7x the instructions of merely validating the same JSON
//! (docs/BENCHMARKS.md). It gives up (returns `None`) at anything it does not handle exactly as
//! serde_json would, and the caller then reads the object with serde, so the result is the same
//! either way:
//! - every syntax error, and nesting deeper than [`MAX_DEPTH`] (serde stops at 128);
//! - a duplicate key of a struct serde derives (serde refuses the whole object: a duplicate
//!   `"pid"` then costs only that field, in `locate`);
//! - in a value that is read (not skipped): a negative number, a fraction or an exponent
//!   (serde_json's own float reading decides those bits), an integer over `u64::MAX`, an
//!   escape that makes a lone surrogate (`"\ud800"`), an escaped key.
//!
//! Values that are skipped (unknown keys, a thread's register state, kept as text) are
//! validated with the grammar serde_json's `ignore_value` accepts, no more: a control character
//! in a string, a bad escape, `01`, `1.`, `-` and a trailing comma all give up. The text is a
//! `&str`, so it is UTF-8 already. One exception: an object where a scalar, `threads`,
//! `frames` or `usedImages` goes is skipped by serde as a map, whose keys serde_json still
//! reads as strings, so a lone surrogate in one of its keys (`"pid":{"\ud800":1}`) gives up.
//!
//! The conversions are shared, not copied: each value read becomes the [`Scalar`] serde's
//! lenient reader would have built, and goes through the same `Scalar` methods and the same
//! frame and image field setters (`shape`).

use std::borrow::Cow;

use super::lenient::{List, Obj, Scalar};
use super::shape::{
    frame_field, image_field, AnalysisJ, AsiJ, BundleInfoJ, Doc, ExceptionJ, FrameJ, FramesIn,
    ImageFill, ImagesIn, OsVersionJ, TerminationJ, ThreadJ,
};

/// Deeper nesting than this gives up (serde_json refuses 128 levels; a report has 6).
const MAX_DEPTH: u32 = 100;

/// Read the JSON object at the start of `text` (a `{`) as a [`Doc`]; returns it and the offset
/// just past its closing `}`. `None`: read it with serde instead.
pub(super) fn read_doc(text: &str) -> Option<(Doc<'_>, usize)> {
    let mut p = P {
        s: text,
        b: text.as_bytes(),
        i: 0,
        depth: 0,
    };
    if p.peek()? != b'{' {
        return None;
    }
    let doc = p.doc()?;
    Some((doc, p.i))
}

/// The reader: the text, its bytes, the position, and the nesting depth.
struct P<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    depth: u32,
}

/// A JSON value's first byte, for the lenient wrappers' "unexpected type" names.
fn kind_of(c: u8) -> &'static str {
    match c {
        b'"' => "string",
        b'{' => "object",
        b'[' => "array",
        b't' | b'f' => "boolean",
        _ => "number",
    }
}

/// Eight bytes at a time: which of them are `"`, `\` or a control character (below 0x20).
#[inline]
fn string_stops(chunk: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
    has_zero(chunk ^ (ONES * u64::from(b'"')))
        | has_zero(chunk ^ (ONES * u64::from(b'\\')))
        | (chunk.wrapping_sub(ONES * 0x20) & !chunk & HIGH)
}

impl<'a> P<'a> {
    #[inline]
    fn ws(&mut self) {
        while let Some(c) = self.b.get(self.i) {
            match c {
                b' ' | b'\n' | b'\t' | b'\r' => self.i += 1,
                _ => return,
            }
        }
    }

    /// The next byte after blanks.
    #[inline]
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.b.get(self.i).copied()
    }

    #[inline]
    fn eat(&mut self, c: u8) -> Option<()> {
        if self.peek()? == c {
            self.i += 1;
            Some(())
        } else {
            None
        }
    }

    /// Move to the next `"`, `\` or control character of a string.
    #[inline]
    fn skip_to_stop(&mut self) {
        while let Some(chunk) = self.b.get(self.i..self.i + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let stops = string_stops(u64::from_le_bytes(word));
            if stops != 0 {
                self.i += (stops.trailing_zeros() / 8) as usize;
                return;
            }
            self.i += 8;
        }
        while let Some(&c) = self.b.get(self.i) {
            if c == b'"' || c == b'\\' || c < 0x20 {
                return;
            }
            self.i += 1;
        }
    }

    /// Skip a string (at its `"`), accepting what serde_json's `ignore_str` accepts: any
    /// escape serde knows, `\u` with four hex digits whatever they make.
    fn skip_string(&mut self) -> Option<()> {
        self.i += 1;
        loop {
            self.skip_to_stop();
            match *self.b.get(self.i)? {
                b'"' => {
                    self.i += 1;
                    return Some(());
                }
                b'\\' => {
                    self.i += 1;
                    match *self.b.get(self.i)? {
                        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.i += 1,
                        b'u' => {
                            self.hex4(self.i + 1)?;
                            self.i += 5;
                        }
                        _ => return None,
                    }
                }
                _ => return None, // a control character
            }
        }
    }

    /// The four hex digits at `at`, as a number.
    fn hex4(&self, at: usize) -> Option<u16> {
        let digits = self.s.get(at..at + 4)?;
        if !digits.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        u16::from_str_radix(digits, 16).ok()
    }

    /// A string (at its `"`) as serde_json reads it into a borrowed or owned `str`: borrowed
    /// when it has no escape, decoded otherwise. A lone surrogate gives up (serde refuses it).
    fn string(&mut self) -> Option<Cow<'a, str>> {
        let start = self.i + 1;
        self.i = start;
        self.skip_to_stop();
        if *self.b.get(self.i)? == b'"' {
            let s = self.s.get(start..self.i)?;
            self.i += 1;
            return Some(Cow::Borrowed(s));
        }
        let mut out = String::with_capacity(self.i - start + 16);
        out.push_str(self.s.get(start..self.i)?);
        loop {
            match *self.b.get(self.i)? {
                b'"' => {
                    self.i += 1;
                    return Some(Cow::Owned(out));
                }
                b'\\' => {
                    let c = *self.b.get(self.i + 1)?;
                    self.i += 2;
                    let decoded = match c {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let first = self.hex4(self.i)?;
                            self.i += 4;
                            match first {
                                0xD800..=0xDBFF => {
                                    // A pair: `\ud83d\ude00`.
                                    if self.b.get(self.i..self.i + 2)? != b"\\u" {
                                        return None;
                                    }
                                    let second = self.hex4(self.i + 2)?;
                                    if !(0xDC00..=0xDFFF).contains(&second) {
                                        return None;
                                    }
                                    self.i += 6;
                                    let c = 0x10000
                                        + ((u32::from(first) - 0xD800) << 10)
                                        + (u32::from(second) - 0xDC00);
                                    char::from_u32(c)?
                                }
                                0xDC00..=0xDFFF => return None,
                                c => char::from_u32(u32::from(c))?,
                            }
                        }
                        _ => return None,
                    };
                    out.push(decoded);
                }
                c if c < 0x20 => return None,
                _ => {}
            }
            let from = self.i;
            self.skip_to_stop();
            out.push_str(self.s.get(from..self.i)?);
        }
    }

    /// An object key without escapes (a key with one gives up: it could spell a field).
    #[inline]
    fn key(&mut self) -> Option<&'a str> {
        if self.peek()? != b'"' {
            return None;
        }
        match self.string()? {
            Cow::Borrowed(k) => Some(k),
            Cow::Owned(_) => None,
        }
    }

    /// Validate a number (at its first byte) with JSON's grammar; returns its value when it is
    /// a plain unsigned integer that fits a `u64` (what serde_json reads as `u64`), else `None`.
    fn number(&mut self) -> Option<Option<u64>> {
        let b = self.b;
        let negative = b.get(self.i) == Some(&b'-');
        if negative {
            self.i += 1;
        }
        let digits = self.i;
        match *b.get(self.i)? {
            b'0' => self.i += 1,
            b'1'..=b'9' => {
                while b.get(self.i).is_some_and(u8::is_ascii_digit) {
                    self.i += 1;
                }
            }
            _ => return None,
        }
        let int_end = self.i;
        let mut plain = !negative;
        if b.get(self.i) == Some(&b'.') {
            plain = false;
            self.i += 1;
            if !b.get(self.i).is_some_and(u8::is_ascii_digit) {
                return None;
            }
            while b.get(self.i).is_some_and(u8::is_ascii_digit) {
                self.i += 1;
            }
        }
        if matches!(b.get(self.i), Some(b'e' | b'E')) {
            plain = false;
            self.i += 1;
            if matches!(b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !b.get(self.i).is_some_and(u8::is_ascii_digit) {
                return None;
            }
            while b.get(self.i).is_some_and(u8::is_ascii_digit) {
                self.i += 1;
            }
        }
        if !plain {
            return Some(None);
        }
        let text = b.get(digits..int_end)?;
        // 19 digits cannot overflow a u64; 20 may (serde then reads a float).
        Some(if text.len() <= 19 {
            Some(text.iter().fold(0u64, |v, &c| v * 10 + u64::from(c - b'0')))
        } else {
            text.iter().try_fold(0u64, |v, &c| {
                v.checked_mul(10)?.checked_add(u64::from(c - b'0'))
            })
        })
    }

    /// A literal (`true`, `false`, `null`) at the current position.
    fn literal(&mut self, word: &[u8]) -> Option<()> {
        if self.b.get(self.i..self.i + word.len())? == word {
            self.i += word.len();
            Some(())
        } else {
            None
        }
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    /// Skip any value, validating it as serde_json's `ignore_value` does.
    fn skip_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.skip_string(),
            b'{' => self.skip_object(false),
            b'[' => self.array(Self::skip_value),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            _ => self.number().map(|_| ()),
        }
    }

    /// Skip an object (at its `{`). With `read_keys`, its keys are read as strings, as
    /// serde_json does for an object it visits as a map of ignored entries (a scalar field, or
    /// a `threads`, `frames` or `usedImages` that is not an array: `MapKey` uses `parse_str`),
    /// so a key with a lone surrogate (`{"\ud800":1}`) gives up there; without, keys are only
    /// validated, as `ignore_value` does. Values are always only validated.
    fn skip_object(&mut self, read_keys: bool) -> Option<()> {
        self.enter()?;
        self.i += 1;
        if self.peek()? == b'}' {
            self.i += 1;
        } else {
            loop {
                if self.peek()? != b'"' {
                    return None;
                }
                if read_keys {
                    self.string()?;
                } else {
                    self.skip_string()?;
                }
                self.eat(b':')?;
                self.skip_value()?;
                match self.peek()? {
                    b',' => self.i += 1,
                    b'}' => {
                        self.i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        Some(())
    }

    /// Any value as the [`Scalar`] serde's lenient reader makes of it: containers are skipped
    /// and named; numbers other than plain unsigned integers give up.
    fn scalar(&mut self) -> Option<Scalar<'a>> {
        Some(match self.peek()? {
            b'"' => Scalar::Str(self.string()?),
            b'{' => {
                self.skip_object(true)?;
                Scalar::Compound("object")
            }
            b'[' => {
                self.skip_value()?;
                Scalar::Compound("array")
            }
            b't' => {
                self.literal(b"true")?;
                Scalar::Bool(true)
            }
            b'f' => {
                self.literal(b"false")?;
                Scalar::Bool(false)
            }
            b'n' => {
                self.literal(b"null")?;
                Scalar::Absent
            }
            // A plain unsigned integer; serde reads other numbers its own way (`-0` is a float).
            _ => Scalar::U(self.number()??),
        })
    }

    /// Read an object (at its `{`), handing each key to `field`, which must read or skip its
    /// value.
    fn object(&mut self, mut field: impl FnMut(&mut Self, &'a str) -> Option<()>) -> Option<()> {
        self.enter()?;
        self.i += 1;
        if self.peek()? == b'}' {
            self.i += 1;
        } else {
            loop {
                let key = self.key()?;
                self.eat(b':')?;
                field(self, key)?;
                match self.peek()? {
                    b',' => self.i += 1,
                    b'}' => {
                        self.i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        Some(())
    }

    /// Read an array (at its `[`), calling `item` for each entry, which must read or skip it.
    fn array(&mut self, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.enter()?;
        self.i += 1;
        if self.peek()? == b']' {
            self.i += 1;
        } else {
            loop {
                self.ws();
                item(self)?;
                match self.peek()? {
                    b',' => self.i += 1,
                    b']' => {
                        self.i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        Some(())
    }
}

/// Marks a field as read; `None` when it was read already (serde refuses a duplicate field of
/// a struct it derives).
#[inline]
fn first(seen: &mut u64, bit: u32) -> Option<()> {
    let mask = 1u64 << bit;
    if *seen & mask != 0 {
        return None;
    }
    *seen |= mask;
    Some(())
}

impl<'a> P<'a> {
    /// A value that is not the container its reader wants, consumed as serde's `deserialize_any`
    /// reads it (strings decoded, numbers read as numbers), and named for the warning.
    /// `null` is not handled here: each reader has its own meaning for it.
    fn other_kind(&mut self) -> Option<&'static str> {
        let c = self.peek()?;
        match c {
            b'[' => self.skip_value()?,
            // An object's keys are read as serde reads them (`skip_object`).
            _ => {
                self.scalar()?;
            }
        }
        Some(kind_of(c))
    }

    /// `Obj<T>`: an object read by `read`, `null`, or anything else (skipped, named).
    fn obj<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<Obj<T>> {
        Some(match self.peek()? {
            b'{' => Obj::Ok(read(self)?),
            b'n' => {
                self.literal(b"null")?;
                Obj::Absent
            }
            _ => Obj::Odd(self.other_kind()?),
        })
    }

    /// A struct of scalars serde derives (`#[serde(default)]`, unknown keys ignored): `names`
    /// are its JSON keys, `set` stores field `i`.
    fn scalars<T: Default>(
        &mut self,
        names: &[&str],
        set: impl Fn(&mut T, usize, Scalar<'a>),
    ) -> Option<T> {
        let mut out = T::default();
        let mut seen = 0u64;
        self.object(|p, key| match names.iter().position(|n| *n == key) {
            Some(i) => {
                first(&mut seen, i as u32)?;
                let v = p.scalar()?;
                set(&mut out, i, v);
                Some(())
            }
            None => p.skip_value(),
        })?;
        Some(out)
    }

    /// `Option<IgnoredAny>`: `null` is `None`.
    fn ignored(&mut self) -> Option<Option<serde::de::IgnoredAny>> {
        if self.peek()? == b'n' {
            self.literal(b"null")?;
            return Some(None);
        }
        self.skip_value()?;
        Some(Some(serde::de::IgnoredAny))
    }

    /// A frames array (`FramesIn`, as `shape`'s array visitor reads it).
    fn frames(&mut self) -> Option<FramesIn<'a>> {
        let mut out = FramesIn::default();
        match self.peek()? {
            b'[' => {
                out.present = true;
                self.array(|p| match p.peek()? {
                    b'{' => {
                        let mut f = FrameJ::default();
                        let mut odd = 0u8;
                        p.object(|p, key| match frame_field(key) {
                            Some(field) => {
                                let v = p.scalar()?;
                                if f.set(field, v).is_err() {
                                    odd |= 1 << field;
                                }
                                Some(())
                            }
                            None => p.skip_value(),
                        })?;
                        out.odd |= odd;
                        out.frames.push(f);
                        Some(())
                    }
                    b'n' => {
                        p.literal(b"null")?;
                        out.odd_items += 1;
                        Some(())
                    }
                    _ => {
                        p.other_kind()?;
                        out.odd_items += 1;
                        Some(())
                    }
                })?;
            }
            b'n' => self.literal(b"null")?,
            _ => {
                out.present = true;
                out.not_array = Some(self.other_kind()?);
            }
        }
        Some(out)
    }

    /// `usedImages` (`ImagesIn`, as `shape`'s array visitor reads it).
    fn images(&mut self) -> Option<ImagesIn> {
        let mut out = ImagesIn::default();
        match self.peek()? {
            b'[' => {
                out.present = true;
                self.array(|p| match p.peek()? {
                    b'{' => {
                        let mut fill = ImageFill::default();
                        p.object(|p, key| match image_field(key) {
                            Some(field) => {
                                let v = p.scalar()?;
                                out.set(&mut fill, field, v);
                                Some(())
                            }
                            None => p.skip_value(),
                        })?;
                        out.push(fill);
                        Some(())
                    }
                    b'n' => {
                        p.literal(b"null")?;
                        out.push_odd();
                        Some(())
                    }
                    _ => {
                        p.other_kind()?;
                        out.push_odd();
                        Some(())
                    }
                })?;
            }
            b'n' => self.literal(b"null")?,
            _ => {
                out.present = true;
                out.not_array = Some(self.other_kind()?);
            }
        }
        Some(out)
    }

    /// One thread object (`ThreadJ`, derived: a duplicate key gives up).
    fn thread(&mut self) -> Option<ThreadJ<'a>> {
        let mut t = ThreadJ::default();
        let mut seen = 0u64;
        self.object(|p, key| {
            match key {
                "id" => {
                    first(&mut seen, 0)?;
                    t.id = p.scalar()?;
                }
                "name" => {
                    first(&mut seen, 1)?;
                    t.name = p.scalar()?;
                }
                "queue" => {
                    first(&mut seen, 2)?;
                    t.queue = p.scalar()?;
                }
                "triggered" => {
                    first(&mut seen, 3)?;
                    t.triggered = p.scalar()?;
                }
                "frames" => {
                    first(&mut seen, 4)?;
                    t.frames = p.frames()?;
                }
                "threadState" => {
                    first(&mut seen, 5)?;
                    if p.peek()? == b'n' {
                        p.literal(b"null")?;
                    } else {
                        let start = p.i;
                        p.skip_value()?;
                        t.thread_state = Some(p.s.get(start..p.i)?);
                    }
                }
                _ => p.skip_value()?,
            }
            Some(())
        })?;
        Some(t)
    }

    /// `threads`: `List<Obj<ThreadJ>>`.
    fn threads(&mut self) -> Option<List<Obj<ThreadJ<'a>>>> {
        Some(match self.peek()? {
            b'[' => {
                let mut items = Vec::new();
                self.array(|p| {
                    let t = p.obj(Self::thread)?;
                    items.push(t);
                    Some(())
                })?;
                List::Ok(items)
            }
            b'n' => {
                self.literal(b"null")?;
                List::Absent
            }
            _ => List::Odd(self.other_kind()?),
        })
    }

    /// `asi`: image name -> messages (`AsiJ`, as `shape` reads it).
    fn asi(&mut self) -> Option<AsiJ<'a>> {
        let mut asi = AsiJ::default();
        self.object(|p, _| {
            match p.peek()? {
                b'[' => p.array(|p| {
                    let m = p.scalar()?;
                    asi.messages.push(m);
                    Some(())
                })?,
                b'n' => p.literal(b"null")?,
                _ => {
                    let m = p.scalar()?;
                    asi.messages.push(m);
                }
            }
            Some(())
        })?;
        Some(asi)
    }

    /// A header or a body (`Doc`, derived: a duplicate key gives up).
    fn doc(&mut self) -> Option<Doc<'a>> {
        let mut d = Doc::default();
        let mut seen = 0u64;
        self.object(|p, key| {
            macro_rules! field {
                ($bit:expr, $target:expr, $read:expr) => {{
                    first(&mut seen, $bit)?;
                    $target = $read;
                }};
            }
            match key {
                "bug_type" => field!(0, d.bug_type, p.scalar()?),
                "incident_id" => field!(1, d.incident_id, p.scalar()?),
                "timestamp" => field!(2, d.timestamp, p.scalar()?),
                "os_version" => field!(3, d.os_version, p.scalar()?),
                "app_name" => field!(4, d.app_name, p.scalar()?),
                "app_version" => field!(5, d.app_version, p.scalar()?),
                "build_version" => field!(6, d.build_version, p.scalar()?),
                "name" => field!(7, d.name, p.scalar()?),
                "bundleID" => field!(8, d.bundle_id, p.scalar()?),
                "incident" => field!(9, d.incident, p.scalar()?),
                "procName" => field!(10, d.proc_name, p.scalar()?),
                "procPath" => field!(11, d.proc_path, p.scalar()?),
                "pid" => field!(12, d.pid, p.scalar()?),
                "parentProc" => field!(13, d.parent_proc, p.scalar()?),
                "parentPid" => field!(14, d.parent_pid, p.scalar()?),
                "responsibleProc" => field!(15, d.responsible_proc, p.scalar()?),
                "userID" => field!(16, d.user_id, p.scalar()?),
                "bundleInfo" => field!(
                    17,
                    d.bundle_info,
                    p.obj(|p| p.scalars(
                        &[
                            "CFBundleIdentifier",
                            "CFBundleShortVersionString",
                            "CFBundleVersion"
                        ],
                        |b: &mut BundleInfoJ<'a>, i, v| match i {
                            0 => b.id = v,
                            1 => b.short_version = v,
                            _ => b.version = v,
                        }
                    ))?
                ),
                "captureTime" => field!(18, d.capture_time, p.scalar()?),
                "osVersion" => field!(
                    19,
                    d.os_version_body,
                    p.obj(
                        |p| p.scalars(&["train", "build"], |o: &mut OsVersionJ<'a>, i, v| {
                            match i {
                                0 => o.train = v,
                                _ => o.build = v,
                            }
                        })
                    )?
                ),
                "modelCode" => field!(20, d.model_code, p.scalar()?),
                "cpuType" => field!(21, d.cpu_type, p.scalar()?),
                "translated" => field!(22, d.translated, p.scalar()?),
                "isCorpse" => field!(23, d.is_corpse, p.scalar()?),
                "exception" => field!(
                    24,
                    d.exception,
                    p.obj(|p| p.scalars(
                        &["type", "signal", "codes", "subtype", "message"],
                        |e: &mut ExceptionJ<'a>, i, v| match i {
                            0 => e.kind = v,
                            1 => e.signal = v,
                            2 => e.codes = v,
                            3 => e.subtype = v,
                            _ => e.message = v,
                        }
                    ))?
                ),
                "termination" => field!(
                    25,
                    d.termination,
                    p.obj(|p| p.scalars(
                        &["namespace", "code", "indicator", "byProc"],
                        |t: &mut TerminationJ<'a>, i, v| match i {
                            0 => t.namespace = v,
                            1 => t.code = v,
                            2 => t.indicator = v,
                            _ => t.by_proc = v,
                        }
                    ))?
                ),
                "asi" => field!(26, d.asi, p.obj(Self::asi)?),
                "faultingThread" => field!(27, d.faulting_thread, p.scalar()?),
                "threads" => field!(28, d.threads, p.threads()?),
                "usedImages" => field!(29, d.used_images, p.images()?),
                "lastExceptionBacktrace" => {
                    field!(30, d.last_exception_backtrace, p.frames()?)
                }
                "product" => field!(31, d.product, p.scalar()?),
                "date" => field!(32, d.date, p.scalar()?),
                "build" => field!(33, d.build, p.scalar()?),
                "panicString" => field!(34, d.panic_string, p.scalar()?),
                "string" => field!(35, d.panic_text, p.scalar()?),
                "process_name" => field!(36, d.process_name, p.scalar()?),
                "analysis" => field!(
                    37,
                    d.analysis,
                    p.obj(|p| p.scalars(
                        &["restart_reason_desc", "restart_reason"],
                        |a: &mut AnalysisJ<'a>, i, v| match i {
                            0 => a.restart_reason_desc = v,
                            _ => a.restart_reason = v,
                        }
                    ))?
                ),
                "crashReporterKey" => field!(38, d.crash_reporter_key, p.ignored()?),
                "processes" => field!(39, d.processes, p.ignored()?),
                _ => p.skip_value()?,
            }
            Some(())
        })?;
        Some(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reads(json: &str) -> bool {
        read_doc(json).is_some()
    }

    #[test]
    fn the_samples_are_read_by_the_fast_reader_itself() {
        // The fallback keeps results right, but it is no faster: the common shape must not
        // need it. Each sample's header and body are read here, not by serde.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/reports");
        let mut n = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let Ok(text) = std::fs::read_to_string(entry.unwrap().path()) else {
                continue; // a folder
            };
            let (header, body) = text.split_once('\n').unwrap();
            let whole = serde_json::from_str::<serde::de::IgnoredAny>(body).is_ok();
            if !header.starts_with('{') || !whole {
                continue; // legacy text, or a body cut short on purpose
            }
            assert!(reads(header), "{header}");
            let (doc, end) = read_doc(body.trim_start()).unwrap();
            assert!(doc.role().is_some());
            assert_eq!(body.trim_start()[end..].trim(), "");
            n += 1;
        }
        assert!(n >= 10);
    }

    #[test]
    fn what_serde_would_read_differently_is_left_to_serde() {
        // Each of these is read by serde, which refuses it or reads it its own way.
        for json in [
            r#"{"pid":1,"pid":2}"#,             // a duplicate field
            r#"{"threads":[{"id":1,"id":2}]}"#, // one in a derived struct
            r#"{"pid":-1}"#,                    // numbers serde reads as i64 or f64
            r#"{"pid":-0}"#,
            r#"{"pid":1.5}"#,
            r#"{"pid":1e400}"#,
            r#"{"pid":18446744073709551616}"#,
            r#"{"procName":"\ud800"}"#, // a lone surrogate in a read string
            r#"{"p\u0069d":1}"#,        // an escaped key
            r#"{"pid":01}"#,            // syntax errors
            r#"{"pid":1,}"#,
            r#"{"pid":"a	b"}"#, // a control character (a tab)
            r#"{"x":"\q"}"#,
            r#"{"pid":1"#,
            r#"{"threads":[{"frames":[{"imageIndex":1e400}]}]}"#,
            r#"{"exception":1e400}"#,
            // Keys serde reads even in an object it skips as a map (a lone surrogate).
            r#"{"pid":{"\ud800":1}}"#,
            r#"{"threads":{"a":1,"\udc00":2}}"#,
        ] {
            assert!(!reads(json), "{json}");
        }
        let deep = format!("{{\"x\":{}{}}}", "[".repeat(120), "]".repeat(120));
        assert!(!reads(&deep));
    }

    #[test]
    fn what_it_reads_it_reads_as_serde_does() {
        for json in [
            r#"{"pid":1,"unknown":1,"unknown":[1e400,-0,"\ud800"]}"#, // ignored values
            r#"{"procName":"a\"b\\c\/d\u00e9\ud83d\ude00"}"#,
            r#"{"threads":null,"usedImages":{},"asi":[],"exception":"x"}"#,
            r#"{"threads":[null,1,"x",[],{"frames":7,"threadState":null}]}"#,
            r#"{"threads":[{"frames":[null,{"imageIndex":"0x1f","symbol":3}]}]}"#,
            r#"{"usedImages":[null,{"uuid":"ABC","base":"12"}],"crashReporterKey":null}"#,
            r#"{"pid":{"\ud83d\ude00":{"\ud800":1}},"x":{"\ud800":1}}"#, // nested, unknown
        ] {
            assert!(reads(json), "{json}");
        }
    }
}
