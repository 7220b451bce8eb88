//! Lenient building blocks: deduplicated warnings and the `Scalar`, `Obj` and `List` wrappers
//! that accept any JSON type, so one field of an unexpected type costs that field, never the
//! report.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Warnings, deduplicated: a field that is odd in every one of 3000 frames gives one line.
/// The index keeps each push O(1): a hostile file with 200,000 frames that each warn
/// differently (`imageIndex` 100000, 100001, ...) must cost linear time, not quadratic.
#[derive(Default)]
pub(super) struct Warnings {
    list: Vec<(String, usize)>,
    index: HashMap<String, usize>,
}

impl Warnings {
    pub(super) fn push(&mut self, msg: String) {
        match self.index.get(&msg) {
            Some(&at) => self.list[at].1 += 1,
            None => {
                self.index.insert(msg.clone(), self.list.len());
                self.list.push((msg, 1));
            }
        }
    }

    pub(super) fn odd(&mut self, path: &str, found: &str) {
        self.push(format!(
            "field `{path}` has an unexpected type ({found}); ignored"
        ));
    }

    pub(super) fn into_vec(self) -> Vec<String> {
        self.list
            .into_iter()
            .map(|(m, n)| if n > 1 { format!("{m} ({n} times)") } else { m })
            .collect()
    }
}

/// Any JSON value where a scalar is expected; objects and arrays are skipped, not built.
#[derive(Debug, Default)]
pub(super) enum Scalar<'a> {
    #[default]
    Absent,
    Str(Cow<'a, str>),
    U(u64),
    I(i64),
    F(f64),
    Bool(bool),
    Compound(&'static str),
}

impl<'de: 'a, 'a> Deserialize<'de> for Scalar<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor(PhantomData))
    }
}

pub(super) struct ScalarVisitor<'a>(pub(super) PhantomData<&'a ()>);

impl<'de: 'a, 'a> Visitor<'de> for ScalarVisitor<'a> {
    type Value = Scalar<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Scalar::I(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Scalar::U(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Scalar::F(v))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Absent)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Absent)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        Scalar::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Compound("array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Compound("object"))
    }
}

impl<'a> Scalar<'a> {
    fn type_name(&self) -> &'static str {
        match self {
            Scalar::Absent => "null",
            Scalar::Str(_) => "string",
            Scalar::U(_) | Scalar::I(_) | Scalar::F(_) => "number",
            Scalar::Bool(_) => "boolean",
            Scalar::Compound(k) => k,
        }
    }

    pub(super) fn is_present(&self) -> bool {
        !matches!(self, Scalar::Absent)
    }

    pub(super) fn as_str(&self) -> Option<&str> {
        match self {
            Scalar::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Text; numbers are written out (`"bug_type": 309` happens), blank text is absent.
    pub(super) fn text(&self, w: &mut Warnings, path: &str) -> Option<String> {
        match self {
            Scalar::Absent => None,
            Scalar::Str(s) if s.trim().is_empty() => None,
            Scalar::Str(s) => Some(s.to_string()),
            Scalar::U(v) => Some(v.to_string()),
            Scalar::I(v) => Some(v.to_string()),
            Scalar::F(v) => Some(v.to_string()),
            Scalar::Bool(_) | Scalar::Compound(_) => {
                w.odd(path, self.type_name());
                None
            }
        }
    }

    /// A non-negative integer; text holding a decimal or `0x` hex number is read too.
    pub(super) fn u64(&self, w: &mut Warnings, path: &str) -> Option<u64> {
        self.to_u64().unwrap_or_else(|found| {
            w.odd(path, found);
            None
        })
    }

    /// [`Scalar::u64`] without the warning: `Err` names the type found.
    pub(super) fn to_u64(&self) -> Result<Option<u64>, &'static str> {
        let v = match self {
            Scalar::Absent => return Ok(None),
            Scalar::U(v) => Some(*v),
            Scalar::I(v) => u64::try_from(*v).ok(),
            Scalar::F(v) if v.fract() == 0.0 && *v >= 0.0 && *v < u64::MAX as f64 => {
                Some(*v as u64)
            }
            Scalar::Str(s) => parse_int_text(s),
            _ => None,
        };
        v.map(Some).ok_or(self.type_name())
    }

    /// [`Scalar::text`], moving a string that is already owned (it had escapes in the JSON)
    /// instead of copying it, and keeping one borrowed from the text as it is (a frame's symbol
    /// is only copied if the frame is kept); `Err` names the type found.
    pub(super) fn into_cow(self) -> Result<Option<Cow<'a, str>>, &'static str> {
        match self {
            Scalar::Absent => Ok(None),
            Scalar::Str(s) if s.trim().is_empty() => Ok(None),
            Scalar::Str(s) => Ok(Some(s)),
            Scalar::U(v) => Ok(Some(Cow::Owned(v.to_string()))),
            Scalar::I(v) => Ok(Some(Cow::Owned(v.to_string()))),
            Scalar::F(v) => Ok(Some(Cow::Owned(v.to_string()))),
            Scalar::Bool(_) | Scalar::Compound(_) => Err(self.type_name()),
        }
    }

    pub(super) fn i64(&self, w: &mut Warnings, path: &str) -> Option<i64> {
        let v = match self {
            Scalar::Absent => return None,
            Scalar::U(v) => i64::try_from(*v).ok(),
            Scalar::I(v) => Some(*v),
            Scalar::F(v) if v.fract() == 0.0 && v.abs() < i64::MAX as f64 => Some(*v as i64),
            Scalar::Str(s) => {
                let t = s.trim();
                match t.strip_prefix('-') {
                    Some(n) => parse_int_text(n)
                        .and_then(|n| i64::try_from(n).ok())
                        .map(|n| -n),
                    None => parse_int_text(t).and_then(|n| i64::try_from(n).ok()),
                }
            }
            _ => None,
        };
        if v.is_none() {
            w.odd(path, self.type_name());
        }
        v
    }

    pub(super) fn bool(&self, w: &mut Warnings, path: &str) -> Option<bool> {
        if matches!(self, Scalar::Absent) {
            return None;
        }
        let v = self.to_bool();
        if v.is_none() {
            w.odd(path, self.type_name());
        }
        v
    }

    /// [`Scalar::bool`] without the warning.
    pub(super) fn to_bool(&self) -> Option<bool> {
        match self {
            Scalar::Bool(b) => Some(*b),
            Scalar::U(0) | Scalar::I(0) => Some(false),
            Scalar::U(1) | Scalar::I(1) => Some(true),
            Scalar::Str(s) => match s.trim() {
                "true" | "1" => Some(true),
                "false" | "0" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    pub(super) fn usize(&self, w: &mut Warnings, path: &str) -> Option<usize> {
        self.u64(w, path).and_then(|v| usize::try_from(v).ok())
    }
}

/// A field whose value has a type its reader refuses (the type is not needed: frame and image
/// warnings name the field only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct OddType;

/// A conversion of one value read as a [`Scalar`], for the frame and image fields: the serde
/// reader and the fast reader (`fast`) both read a value as a `Scalar` and convert it through
/// one of these, so they agree by construction.
pub(super) trait Convert<'a> {
    type Out;
    fn convert(s: Scalar<'a>) -> Result<Self::Out, OddType>;
}

/// [`Scalar::to_u64`].
pub(super) struct AsU64;

impl<'a> Convert<'a> for AsU64 {
    type Out = Option<u64>;
    #[inline]
    fn convert(s: Scalar<'a>) -> Result<Option<u64>, OddType> {
        s.to_u64().map_err(|_| OddType)
    }
}

/// [`Scalar::into_cow`].
pub(super) struct AsCow;

impl<'a> Convert<'a> for AsCow {
    type Out = Option<Cow<'a, str>>;
    #[inline]
    fn convert(s: Scalar<'a>) -> Result<Option<Cow<'a, str>>, OddType> {
        s.into_cow().map_err(|_| OddType)
    }
}

/// `123` or `0x7b`.
fn parse_int_text(s: &str) -> Option<u64> {
    let t = s.trim();
    match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => t.parse().ok(),
    }
}

/// The scalar arms shared by the lenient [`Obj`] and [`List`] visitors: `null` is absent, any
/// other scalar is skipped and remembered as odd (with its JSON type for the warning).
macro_rules! lenient_scalars {
    ($ty:ident) => {
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok($ty::Absent)
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok($ty::Absent)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            $ty::deserialize(d)
        }
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok($ty::Odd("boolean"))
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok($ty::Odd("number"))
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok($ty::Odd("number"))
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok($ty::Odd("number"))
        }
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok($ty::Odd("string"))
        }
    };
}

/// A JSON object read as `T`; anything else is skipped and remembered as odd.
#[derive(Debug, Default)]
pub(super) enum Obj<T> {
    #[default]
    Absent,
    Ok(T),
    Odd(&'static str),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ObjVisitor(PhantomData))
    }
}

struct ObjVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjVisitor<T> {
    type Value = Obj<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Obj::Ok)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Obj::Odd("array"))
    }
    lenient_scalars!(Obj);
}

impl<T> Obj<T> {
    pub(super) fn get(&self, w: &mut Warnings, path: &str) -> Option<&T> {
        match self {
            Obj::Absent => None,
            Obj::Ok(t) => Some(t),
            Obj::Odd(k) => {
                w.odd(path, k);
                None
            }
        }
    }
}

/// A JSON array of `T`; anything else is skipped and remembered as odd.
#[derive(Debug, Default)]
pub(super) enum List<T> {
    #[default]
    Absent,
    Ok(Vec<T>),
    Odd(&'static str),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ListVisitor(PhantomData))
    }
}

struct ListVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ListVisitor<T> {
    type Value = List<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element::<T>()? {
            items.push(item);
        }
        Ok(List::Ok(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(List::Odd("object"))
    }
    lenient_scalars!(List);
}

impl<T> List<T> {
    pub(super) fn into_vec(self, w: &mut Warnings, path: &str) -> Vec<T> {
        match self {
            List::Absent => Vec::new(),
            List::Ok(v) => v,
            List::Odd(k) => {
                w.odd(path, k);
                Vec::new()
            }
        }
    }

    pub(super) fn is_present(&self) -> bool {
        !matches!(self, List::Absent)
    }
}
