//! The typed shape of `.ips` headers and bodies: borrowing serde structs, and the frames and
//! images arrays read straight into model types.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::lenient::{AsCow, AsU64, Convert, List, Obj, OddType, Scalar, ScalarVisitor, Warnings};
use super::locate::Role;
use crate::crash::model::{normalize_uuid, Frame, Image, SymbolSource};

/// A header or a body: one struct for both, since each is recognised by its keys (a 309 body
/// repeats `bug_type`, a GPU event body has `process_name` and `analysis`). Unknown keys are
/// ignored.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(super) struct Doc<'a> {
    // Header keys.
    #[serde(borrow)]
    pub(super) bug_type: Scalar<'a>,
    #[serde(borrow)]
    pub(super) incident_id: Scalar<'a>,
    #[serde(borrow)]
    pub(super) timestamp: Scalar<'a>,
    #[serde(borrow)]
    pub(super) os_version: Scalar<'a>,
    #[serde(borrow)]
    pub(super) app_name: Scalar<'a>,
    #[serde(borrow)]
    pub(super) app_version: Scalar<'a>,
    #[serde(borrow)]
    pub(super) build_version: Scalar<'a>,
    #[serde(borrow)]
    pub(super) name: Scalar<'a>,
    #[serde(rename = "bundleID", borrow)]
    pub(super) bundle_id: Scalar<'a>,

    // Crash body keys (bug_type 309).
    #[serde(borrow)]
    pub(super) incident: Scalar<'a>,
    #[serde(rename = "procName", borrow)]
    pub(super) proc_name: Scalar<'a>,
    #[serde(rename = "procPath", borrow)]
    pub(super) proc_path: Scalar<'a>,
    #[serde(borrow)]
    pub(super) pid: Scalar<'a>,
    #[serde(rename = "parentProc", borrow)]
    pub(super) parent_proc: Scalar<'a>,
    #[serde(rename = "parentPid", borrow)]
    pub(super) parent_pid: Scalar<'a>,
    #[serde(rename = "responsibleProc", borrow)]
    pub(super) responsible_proc: Scalar<'a>,
    #[serde(rename = "userID", borrow)]
    pub(super) user_id: Scalar<'a>,
    #[serde(rename = "bundleInfo", borrow)]
    pub(super) bundle_info: Obj<BundleInfoJ<'a>>,
    #[serde(rename = "captureTime", borrow)]
    pub(super) capture_time: Scalar<'a>,
    #[serde(rename = "osVersion", borrow)]
    pub(super) os_version_body: Obj<OsVersionJ<'a>>,
    #[serde(rename = "modelCode", borrow)]
    pub(super) model_code: Scalar<'a>,
    #[serde(rename = "cpuType", borrow)]
    pub(super) cpu_type: Scalar<'a>,
    #[serde(borrow)]
    pub(super) translated: Scalar<'a>,
    /// Apple renders it as `Exception Note: EXC_CORPSE_NOTIFY`.
    #[serde(rename = "isCorpse", borrow)]
    pub(super) is_corpse: Scalar<'a>,
    #[serde(borrow)]
    pub(super) exception: Obj<ExceptionJ<'a>>,
    #[serde(borrow)]
    pub(super) termination: Obj<TerminationJ<'a>>,
    #[serde(borrow)]
    pub(super) asi: Obj<AsiJ<'a>>,
    #[serde(rename = "faultingThread", borrow)]
    pub(super) faulting_thread: Scalar<'a>,
    #[serde(borrow)]
    pub(super) threads: List<Obj<ThreadJ<'a>>>,
    #[serde(rename = "usedImages")]
    pub(super) used_images: ImagesIn,
    #[serde(rename = "lastExceptionBacktrace", borrow)]
    pub(super) last_exception_backtrace: FramesIn<'a>,

    // Other diagnostics: panics (151, 210), jetsam (298), GPU events (284).
    #[serde(borrow)]
    pub(super) product: Scalar<'a>,
    #[serde(borrow)]
    pub(super) date: Scalar<'a>,
    #[serde(borrow)]
    pub(super) build: Scalar<'a>,
    #[serde(rename = "panicString", borrow)]
    pub(super) panic_string: Scalar<'a>,
    /// The iOS 16 panic body names its panic text `string`.
    #[serde(rename = "string", borrow)]
    pub(super) panic_text: Scalar<'a>,
    #[serde(borrow)]
    pub(super) process_name: Scalar<'a>,
    #[serde(borrow)]
    pub(super) analysis: Obj<AnalysisJ<'a>>,
    #[serde(rename = "crashReporterKey")]
    pub(super) crash_reporter_key: Option<IgnoredAny>,
    pub(super) processes: Option<IgnoredAny>,
}

impl Doc<'_> {
    /// Body keys win: a crash body repeats `bug_type`, but no header has `procName`.
    pub(super) fn role(&self) -> Option<Role> {
        let body = self.proc_name.is_present()
            || self.incident.is_present()
            || self.capture_time.is_present()
            || self.threads.is_present()
            || self.used_images.present
            || self.last_exception_backtrace.present
            || !matches!(self.exception, Obj::Absent)
            || self.panic_string.is_present()
            || self.crash_reporter_key.is_some()
            || self.processes.is_some()
            || !matches!(self.analysis, Obj::Absent)
            || self.process_name.is_present();
        if body {
            Some(Role::Body)
        } else if self.bug_type.is_present() || self.incident_id.is_present() {
            Some(Role::Header)
        } else {
            None
        }
    }

    pub(super) fn has_incident_id(&self) -> bool {
        self.incident_id.is_present()
    }
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(super) struct BundleInfoJ<'a> {
    #[serde(rename = "CFBundleIdentifier", borrow)]
    pub(super) id: Scalar<'a>,
    #[serde(rename = "CFBundleShortVersionString", borrow)]
    pub(super) short_version: Scalar<'a>,
    #[serde(rename = "CFBundleVersion", borrow)]
    pub(super) version: Scalar<'a>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(super) struct OsVersionJ<'a> {
    #[serde(borrow)]
    pub(super) train: Scalar<'a>,
    #[serde(borrow)]
    pub(super) build: Scalar<'a>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(super) struct ExceptionJ<'a> {
    #[serde(rename = "type", borrow)]
    pub(super) kind: Scalar<'a>,
    #[serde(borrow)]
    pub(super) signal: Scalar<'a>,
    #[serde(borrow)]
    pub(super) codes: Scalar<'a>,
    #[serde(borrow)]
    pub(super) subtype: Scalar<'a>,
    #[serde(borrow)]
    pub(super) message: Scalar<'a>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(super) struct TerminationJ<'a> {
    #[serde(borrow)]
    pub(super) namespace: Scalar<'a>,
    #[serde(borrow)]
    pub(super) code: Scalar<'a>,
    #[serde(borrow)]
    pub(super) indicator: Scalar<'a>,
    #[serde(rename = "byProc", borrow)]
    pub(super) by_proc: Scalar<'a>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(super) struct AnalysisJ<'a> {
    #[serde(borrow)]
    pub(super) restart_reason_desc: Scalar<'a>,
    #[serde(borrow)]
    pub(super) restart_reason: Scalar<'a>,
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(super) struct ThreadJ<'a> {
    #[serde(borrow)]
    pub(super) id: Scalar<'a>,
    #[serde(borrow)]
    pub(super) name: Scalar<'a>,
    #[serde(borrow)]
    pub(super) queue: Scalar<'a>,
    #[serde(borrow)]
    pub(super) triggered: Scalar<'a>,
    #[serde(borrow)]
    pub(super) frames: FramesIn<'a>,
    /// Kept as JSON text (validated): only the crashed thread's registers are built.
    #[serde(rename = "threadState", borrow, deserialize_with = "raw_text")]
    pub(super) thread_state: Option<&'a str>,
}

/// A value kept as its JSON text, as `serde_json`'s `RawValue` reads it (`null` is `None`).
fn raw_text<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<Option<&'a str>, D::Error> {
    Ok(Option::<&'de RawValue>::deserialize(d)?.map(RawValue::get))
}

pub(super) const FRAME_FIELDS: [&str; 6] = [
    "imageIndex",
    "imageOffset",
    "symbol",
    "symbolLocation",
    "sourceFile",
    "sourceLine",
];

const IMAGE_FIELDS: [&str; 9] = [
    "uuid",
    "name",
    "path",
    "arch",
    "base",
    "size",
    "CFBundleIdentifier",
    "CFBundleShortVersionString",
    "CFBundleVersion",
];

/// The index in [`FRAME_FIELDS`] of a frame key (a `match` on the key as read: no string is
/// built for it).
pub(super) fn frame_field(key: &str) -> Option<u8> {
    Some(match key {
        "imageIndex" => 0,
        "imageOffset" => 1,
        "symbol" => 2,
        "symbolLocation" => 3,
        "sourceFile" => 4,
        "sourceLine" => 5,
        _ => return None,
    })
}

/// The index in [`IMAGE_FIELDS`] of an image key.
pub(super) fn image_field(key: &str) -> Option<u8> {
    Some(match key {
        "uuid" => 0,
        "name" => 1,
        "path" => 2,
        "arch" => 3,
        "base" => 4,
        "size" => 5,
        "CFBundleIdentifier" => 6,
        "CFBundleShortVersionString" => 7,
        "CFBundleVersion" => 8,
        _ => return None,
    })
}

/// An object key, matched where it is read by a function like [`frame_field`]: `None` for a
/// key that is not a field.
struct FieldKey(fn(&str) -> Option<u8>);

impl<'de> de::DeserializeSeed<'de> for FieldKey {
    type Value = Option<u8>;

    #[inline]
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<u8>, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl<'de> Visitor<'de> for FieldKey {
    type Value = Option<u8>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    #[inline]
    fn visit_str<E>(self, key: &str) -> Result<Option<u8>, E> {
        Ok((self.0)(key))
    }
}

/// A frames array, each frame read straight into a [`FrameJ`] whose strings are still borrowed
/// from the text (frames are most of a report). Only the frames the caller keeps become model
/// frames, with owned strings: at ingest, the crashed thread's and the exception backtrace;
/// the other threads' frames are only checked, for the same warnings. Fields of an unexpected
/// type are left out and remembered in `odd`, one bit per entry of [`FRAME_FIELDS`], merged over
/// all frames (warnings are per kind, not per frame); `address` is filled in later, once the
/// images are known.
#[derive(Debug, Default)]
pub(super) struct FramesIn<'a> {
    /// The key was there (even as `[]`).
    pub(super) present: bool,
    pub(super) frames: Vec<FrameJ<'a>>,
    pub(super) odd: u8,
    /// Entries that are not objects.
    pub(super) odd_items: usize,
    /// Set when the value is not an array (its type).
    pub(super) not_array: Option<&'static str>,
}

/// One frame as read: what [`Frame`] holds from the JSON, with the symbol and source file
/// still borrowed from the text where they had no escapes.
#[derive(Debug, Default)]
pub(super) struct FrameJ<'a> {
    pub(super) image_index: Option<usize>,
    image_offset: Option<u64>,
    symbol: Option<Cow<'a, str>>,
    symbol_offset: Option<u64>,
    source_file: Option<Cow<'a, str>>,
    source_line: Option<u32>,
}

impl<'a> FrameJ<'a> {
    /// Set field `field` (its index in [`FRAME_FIELDS`]) from the value read there; `Err`
    /// when the value's type does not fit the field (the field stays unset).
    pub(super) fn set(&mut self, field: u8, s: Scalar<'a>) -> Result<(), OddType> {
        match field {
            0 => self.image_index = AsU64::convert(s)?.and_then(|x| usize::try_from(x).ok()),
            1 => self.image_offset = AsU64::convert(s)?,
            2 => self.symbol = AsCow::convert(s)?,
            3 => self.symbol_offset = AsU64::convert(s)?,
            4 => self.source_file = AsCow::convert(s)?,
            _ => self.source_line = AsU64::convert(s)?.and_then(|l| u32::try_from(l).ok()),
        }
        Ok(())
    }

    /// The model frame (without `address`, which needs the images).
    pub(super) fn into_frame(self) -> Frame {
        // `???` is how the text form writes "no symbol"; JSON leaves it out.
        let symbol = self.symbol.filter(|s| s != "???").map(Cow::into_owned);
        Frame {
            image_index: self.image_index,
            image_offset: self.image_offset,
            symbol_source: symbol.as_ref().map(|_| SymbolSource::Apple),
            symbol,
            symbol_offset: self.symbol_offset,
            source_file: self.source_file.map(Cow::into_owned),
            source_line: self.source_line,
            ..Frame::default()
        }
    }
}

/// A `usedImages` array read straight into model images, like [`FramesIn`]; `odd` has one bit
/// per entry of [`IMAGE_FIELDS`]. An entry that is not an object keeps its slot (frames refer to
/// images by position).
#[derive(Debug, Default)]
pub(super) struct ImagesIn {
    /// The key was there (even as `[]`): a body marker.
    pub(super) present: bool,
    images: Vec<Image>,
    odd: u16,
    pub(super) odd_items: usize,
    pub(super) not_array: Option<&'static str>,
    /// `uuid`s that are not 32 hex digits, for the warning.
    bad_uuids: Vec<String>,
}

/// One `usedImages` entry being read: the model image, and the two version keys that become
/// its `bundle_version` once the entry is read.
#[derive(Default)]
pub(super) struct ImageFill {
    im: Image,
    short: Option<String>,
    build: Option<String>,
}

impl ImagesIn {
    /// Set field `field` (its index in [`IMAGE_FIELDS`]) of the entry being read from the
    /// value read there; a value of a type the field does not take is remembered in `odd`.
    pub(super) fn set(&mut self, fill: &mut ImageFill, field: u8, s: Scalar<'_>) {
        let im = &mut fill.im;
        let read = match field {
            4 => AsU64::convert(s).map(|x| im.base = x),
            5 => AsU64::convert(s).map(|x| im.size = x),
            _ => AsCow::convert(s).map(|x| {
                let x = x.map(Cow::into_owned);
                match field {
                    0 => {
                        im.uuid = x.and_then(|u| {
                            if is_normal_uuid(&u) {
                                return Some(u);
                            }
                            let n = normalize_uuid(&u);
                            if n.is_none() {
                                self.bad_uuids.push(u);
                            }
                            n
                        })
                    }
                    1 => im.name = x,
                    2 => im.path = x,
                    3 => im.arch = x,
                    6 => im.bundle_id = x,
                    7 => fill.short = x,
                    _ => fill.build = x,
                }
            }),
        };
        if read.is_err() {
            self.odd |= 1 << field;
        }
    }

    /// Keep the entry read: its version from the two version keys, its name from its path
    /// when it has none.
    pub(super) fn push(&mut self, fill: ImageFill) {
        let ImageFill {
            mut im,
            short,
            build,
        } = fill;
        im.bundle_version = version_string(short, build);
        if im.name.is_none() {
            // No `name` (older reports, some system images): the path's last part.
            im.name = im
                .path
                .as_deref()
                .and_then(|p| p.rsplit('/').next())
                .filter(|n| !n.is_empty())
                .map(String::from);
        }
        self.images.push(im);
    }

    /// An entry that is not an object: it keeps its slot (frames refer to images by position).
    pub(super) fn push_odd(&mut self) {
        self.odd_items += 1;
        self.images.push(Image::default());
    }

    pub(super) fn finish(self, w: &mut Warnings) -> Vec<Image> {
        if let Some(k) = self.not_array {
            w.odd("usedImages", k);
        }
        if self.odd_items > 0 {
            w.push(format!(
                "{} entries of `usedImages` are not objects; kept empty",
                self.odd_items
            ));
        }
        warn_bits(self.odd.into(), &IMAGE_FIELDS, "usedImages[]", w);
        for u in self.bad_uuids {
            w.push(format!("image uuid `{u}` is not 32 hex digits; ignored"));
        }
        self.images
    }
}

/// An array whose object entries are read in place into the array's own vector.
trait FillFrom<'de>: Default {
    /// Read one object entry (push it, then fill it where it lies).
    fn fill<A: MapAccess<'de>>(&mut self, map: A) -> Result<(), A::Error>;
    /// An entry that is not an object.
    fn odd_item(&mut self);
    fn not_array(kind: &'static str) -> Self;
    fn mark_present(&mut self);
}

impl<'de: 'a, 'a> FillFrom<'de> for FramesIn<'a> {
    fn fill<A: MapAccess<'de>>(&mut self, mut map: A) -> Result<(), A::Error> {
        let mut f = FrameJ::default();
        while let Some(key) = map.next_key_seed(FieldKey(frame_field))? {
            match key {
                Some(field) => {
                    let value: Scalar<'a> = map.next_value()?;
                    if f.set(field, value).is_err() {
                        self.odd |= 1 << field;
                    }
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        self.frames.push(f);
        Ok(())
    }

    fn odd_item(&mut self) {
        self.odd_items += 1;
    }

    fn not_array(kind: &'static str) -> Self {
        FramesIn {
            present: true,
            not_array: Some(kind),
            ..FramesIn::default()
        }
    }

    fn mark_present(&mut self) {
        self.present = true;
    }
}

impl<'de> FillFrom<'de> for ImagesIn {
    fn fill<A: MapAccess<'de>>(&mut self, mut map: A) -> Result<(), A::Error> {
        let mut fill = ImageFill::default();
        while let Some(key) = map.next_key_seed(FieldKey(image_field))? {
            match key {
                Some(field) => {
                    let value: Scalar<'_> = map.next_value()?;
                    self.set(&mut fill, field, value);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        self.push(fill);
        Ok(())
    }

    fn odd_item(&mut self) {
        self.push_odd();
    }

    fn not_array(kind: &'static str) -> Self {
        ImagesIn {
            present: true,
            not_array: Some(kind),
            ..ImagesIn::default()
        }
    }

    fn mark_present(&mut self) {
        self.present = true;
    }
}

/// Any JSON value as a [`FillFrom`] array: an array's entries are read in place, anything else
/// is remembered as odd.
struct ArrayVisitor<T>(PhantomData<T>);

impl<'de, T: FillFrom<'de>> Visitor<'de> for ArrayVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<T, A::Error> {
        let mut out = T::default();
        out.mark_present();
        while seq.next_element_seed(EntrySeed(&mut out))?.is_some() {}
        Ok(out)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(T::not_array("object"))
    }
    fn visit_unit<E>(self) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_none<E>(self) -> Result<T, E> {
        Ok(T::default())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E>(self, _: bool) -> Result<T, E> {
        Ok(T::not_array("boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<T, E> {
        Ok(T::not_array("number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<T, E> {
        Ok(T::not_array("number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<T, E> {
        Ok(T::not_array("number"))
    }
    fn visit_str<E>(self, _: &str) -> Result<T, E> {
        Ok(T::not_array("string"))
    }
}

/// One array entry, read into the array's vector.
struct EntrySeed<'x, T>(&'x mut T);

impl<'de, T: FillFrom<'de>> de::DeserializeSeed<'de> for EntrySeed<'_, T> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: FillFrom<'de>> Visitor<'de> for EntrySeed<'_, T> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        self.0.fill(map)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        self.0.odd_item();
        Ok(())
    }
    // `null` entries are odd too (and keep their slot among images).
    fn visit_unit<E>(self) -> Result<(), E> {
        self.0.odd_item();
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        self.0.odd_item();
        Ok(())
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        self.0.odd_item();
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        self.0.odd_item();
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        self.0.odd_item();
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        self.0.odd_item();
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        self.0.odd_item();
        Ok(())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for FramesIn<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ArrayVisitor(PhantomData))
    }
}

impl<'de> Deserialize<'de> for ImagesIn {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ArrayVisitor(PhantomData))
    }
}

/// `asi`: an object of image name → array of messages, e.g.
/// `{"libsystem_c.dylib":["abort() called"]}`. Read as the messages, in order.
#[derive(Debug, Default)]
pub(super) struct AsiJ<'a> {
    pub(super) messages: Vec<Scalar<'a>>,
}

impl<'de: 'a, 'a> Deserialize<'de> for AsiJ<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = AsiJ<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of arrays of strings")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut messages = Vec::new();
                while map.next_key::<IgnoredAny>()?.is_some() {
                    // Each value is normally an array of strings; a lone string is taken too.
                    match map.next_value::<ScalarOrList<'a>>()? {
                        ScalarOrList::One(s) => messages.push(s),
                        ScalarOrList::Many(v) => messages.extend(v),
                    }
                }
                Ok(AsiJ { messages })
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

enum ScalarOrList<'a> {
    One(Scalar<'a>),
    Many(Vec<Scalar<'a>>),
}

impl<'de: 'a, 'a> Deserialize<'de> for ScalarOrList<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = ScalarOrList<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut v = Vec::new();
                while let Some(s) = seq.next_element::<Scalar<'a>>()? {
                    v.push(s);
                }
                Ok(ScalarOrList::Many(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                ScalarVisitor(PhantomData)
                    .visit_map(map)
                    .map(ScalarOrList::One)
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(ScalarOrList::One(Scalar::Str(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(ScalarOrList::One(Scalar::Str(Cow::Owned(v.to_owned()))))
            }
            fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
                Ok(ScalarOrList::One(Scalar::Bool(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(ScalarOrList::One(Scalar::U(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
                Ok(ScalarOrList::One(Scalar::I(v)))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
                Ok(ScalarOrList::One(Scalar::F(v)))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(ScalarOrList::Many(Vec::new()))
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// One register: `{"value": 4385295640, "symbol": "...", "symbolLocation": 8}`.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(super) struct RegJ<'a> {
    #[serde(borrow)]
    pub(super) value: Scalar<'a>,
    #[serde(borrow)]
    pub(super) symbol: Scalar<'a>,
}

/// `threadState`: `flavor`, an `x` array (arm64: x0..x28), and named registers (`fp`, `lr`,
/// `sp`, `pc`, `cpsr`, `far`, `esr`; x86: `rax`, `rbx` ...), each `{"value": ...}`.
#[derive(Debug, Default)]
pub(super) struct StateJ<'a> {
    pub(super) flavor: Scalar<'a>,
    pub(super) regs: Vec<(Cow<'a, str>, RegJ<'a>)>,
    pub(super) odd: usize,
}

impl<'de: 'a, 'a> Deserialize<'de> for StateJ<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = StateJ<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a thread state object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut st = StateJ::default();
                while let Some(key) = map.next_key::<Scalar<'a>>()? {
                    let Scalar::Str(key) = key else {
                        map.next_value::<IgnoredAny>()?;
                        continue;
                    };
                    match key.as_ref() {
                        "flavor" => st.flavor = map.next_value()?,
                        // `x` (arm64) and `r` (arm32) are arrays of registers.
                        "x" | "r" => {
                            let list: List<Obj<RegJ<'a>>> = map.next_value()?;
                            match list {
                                List::Ok(items) => {
                                    for (i, item) in items.into_iter().enumerate() {
                                        match item {
                                            Obj::Ok(r) => st.regs.push((reg_name(&key, i), r)),
                                            _ => st.odd += 1,
                                        }
                                    }
                                }
                                List::Absent => {}
                                List::Odd(_) => st.odd += 1,
                            }
                        }
                        _ => match map.next_value::<Obj<RegJ<'a>>>()? {
                            Obj::Ok(r) => st.regs.push((key, r)),
                            Obj::Absent => {}
                            Obj::Odd(_) => st.odd += 1,
                        },
                    }
                }
                Ok(st)
            }
        }
        d.deserialize_map(V(PhantomData))
    }
}

/// The name of entry `i` of a register array (`x` on arm64, `r` on arm32): `x0` ... `x28`
/// come from a table, not from `format!` (a crashed thread has 29 of them).
fn reg_name<'a>(array: &str, i: usize) -> Cow<'a, str> {
    const X: [&str; 29] = [
        "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13",
        "x14", "x15", "x16", "x17", "x18", "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26",
        "x27", "x28",
    ];
    match X.get(i) {
        Some(name) if array == "x" => Cow::Borrowed(name),
        _ => Cow::Owned(format!("{array}{i}")),
    }
}

/// `"1.0 (1)"`, `"1.0"` or `"1"`, as the legacy text writes versions.
pub(super) fn version_string(short: Option<String>, build: Option<String>) -> Option<String> {
    match (short, build) {
        (Some(s), Some(b)) if s != b => Some(format!("{s} ({b})")),
        (Some(s), _) => Some(s),
        (None, b) => b,
    }
}

/// One warning per field whose bit is set in `odd` (bit `i` stands for `fields[i]`).
pub(super) fn warn_bits(odd: u32, fields: &[&str], path: &str, w: &mut Warnings) {
    for (bit, field) in fields.iter().enumerate() {
        if odd & (1 << bit) != 0 {
            w.push(format!(
                "field `{path}.{field}` has an unexpected type; ignored"
            ));
        }
    }
}

/// Already lowercase and dashed, as `.ips` writes it (`2f5ccac7-cf4f-3f87-8689-7c673e90e595`):
/// [`normalize_uuid`] would give it back unchanged, at the price of three allocations.
fn is_normal_uuid(u: &str) -> bool {
    u.len() == 36
        && u.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_matchers_agree_with_the_field_lists() {
        for (i, f) in FRAME_FIELDS.iter().enumerate() {
            assert_eq!(frame_field(f), u8::try_from(i).ok(), "{f}");
        }
        for (i, f) in IMAGE_FIELDS.iter().enumerate() {
            assert_eq!(image_field(f), u8::try_from(i).ok(), "{f}");
        }
        assert_eq!(frame_field("Symbol"), None);
        for i in 0..40 {
            assert_eq!(reg_name("x", i), format!("x{i}"));
            assert_eq!(reg_name("r", i), format!("r{i}"));
        }
        assert_eq!(image_field("uuid "), None);
    }
}
