//! The fix-version registry's reader: what a fix dylib *is*, from its bytes.
//!
//! [`inspect`] reads a thin or universal (fat) Mach-O file with goblin and reports what a fix
//! version is identified by (docs/FIX.md, "fix version"): file size, sha256 and md5, the install name
//! (`LC_ID_DYLIB`), and per architecture slice its `LC_UUID` and the current / compatibility
//! versions. It also parses the build metadata the bundled fix embeds in section
//! `__DATA,__agx_fix_meta` (JSON: version, commit, build date, hooked selectors; see
//! `fix/README.md`). [`looks_like_fix_image`] tells a fix image apart in a crash report's
//! `usedImages`.
//!
//! This module only reads files: it never writes to the database (that is `store`) and never
//! prints (that is `cli`).
//!
//! Error policy: a file that cannot be read, is not Mach-O, or whose Mach-O structure is broken
//! is an `Err` ([`FixError`]). A readable image with unusable *metadata* is not: invalid JSON in
//! `__agx_fix_meta` (or a slice that disagrees with another) gives `metadata: None` (or the first
//! slice's value) plus an entry in [`DylibInfo::warnings`], which is not serialised.

use std::path::{Path, PathBuf};

use goblin::mach::load_command::CommandVariant;
use goblin::mach::MachO;
use md5::Md5;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::symbols::macho::{self, has_macho_magic, hex};

/// Segment and section holding the fix's build metadata (JSON, NUL-terminated).
pub const META_SEGMENT: &str = "__DATA";
/// See [`META_SEGMENT`].
pub const META_SECTION: &str = "__agx_fix_meta";

/// What [`inspect`] learned about one dylib. Serialises with exactly the keys
/// `path, size, sha256, md5, install_name, slices, metadata`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DylibInfo {
    /// The path as given to [`inspect`] (lossy UTF-8).
    pub path: String,
    /// File size in bytes.
    pub size: u64,
    /// sha256 of the whole file, lowercase hex.
    pub sha256: String,
    /// md5 of the whole file, lowercase hex.
    pub md5: String,
    /// `LC_ID_DYLIB` name of the first slice that has one; `None` for a non-dylib image.
    pub install_name: Option<String>,
    /// One entry per architecture, in file order (a thin file has one).
    pub slices: Vec<Slice>,
    /// The parsed `__DATA,__agx_fix_meta` JSON of the first slice that has the section.
    pub metadata: Option<serde_json::Value>,
    /// Problems that did not stop the inspection (bad metadata, slices that disagree).
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// One architecture slice of a Mach-O image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Slice {
    /// `arm64`, `arm64e`, `x86_64`, ... (`cpu-0x..-0x..` when goblin has no name for it).
    pub arch: String,
    /// `LC_UUID`, lowercase with dashes, as crash reports are normalised.
    pub uuid: Option<String>,
    /// `LC_ID_DYLIB` current version as `a.b.c`.
    pub current_version: Option<String>,
    /// `LC_ID_DYLIB` compatibility version as `a.b.c`.
    pub compatibility_version: Option<String>,
}

/// Why a dylib could not be inspected.
#[derive(Debug, thiserror::Error)]
pub enum FixError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file does not start with a Mach-O or fat magic number.
    #[error("{path} is not a Mach-O file")]
    NotMachO { path: PathBuf },
    /// Mach-O magic, but the structure is broken or is not an image (e.g. an archive slice).
    #[error("{path} is a malformed Mach-O file: {reason}")]
    Malformed { path: PathBuf, reason: String },
}

impl FixError {
    /// A short stable name for logs and the database.
    pub fn code(&self) -> &'static str {
        match self {
            FixError::Io { .. } => "io",
            FixError::NotMachO { .. } => "not-macho",
            FixError::Malformed { .. } => "malformed",
        }
    }
}

/// Reads and describes the Mach-O image at `path` (thin or universal).
pub fn inspect(path: &Path) -> Result<DylibInfo, FixError> {
    let bytes = std::fs::read(path).map_err(|source| FixError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    inspect_bytes(path, &bytes)
}

/// [`inspect`] on bytes already in memory; `path` is only reported.
pub fn inspect_bytes(path: &Path, bytes: &[u8]) -> Result<DylibInfo, FixError> {
    if !has_macho_magic(bytes) {
        return Err(FixError::NotMachO {
            path: path.to_path_buf(),
        });
    }
    let malformed = |reason: String| FixError::Malformed {
        path: path.to_path_buf(),
        reason,
    };
    let (sha256, md5) = hex_digests(bytes);
    let mut info = DylibInfo {
        path: path.to_string_lossy().into_owned(),
        size: bytes.len() as u64,
        sha256,
        md5,
        install_name: None,
        slices: Vec::new(),
        metadata: None,
        warnings: Vec::new(),
    };
    let mut metas: Vec<Option<Result<serde_json::Value, String>>> = Vec::new();
    let mut names: Vec<Option<String>> = Vec::new();

    for macho in macho::image_slices(bytes).map_err(malformed)? {
        let (slice, name, meta) = read_slice(&macho);
        info.slices.push(slice);
        names.push(name);
        metas.push(meta);
    }

    info.install_name = names.iter().flatten().next().cloned();
    if let Some(first) = &info.install_name {
        if names.iter().flatten().any(|n| n != first) {
            info.warnings
                .push("slices have different install names; reporting the first".into());
        }
    }
    for (i, meta) in metas.into_iter().enumerate() {
        match meta {
            None => {}
            Some(Err(e)) => info.warnings.push(format!(
                "slice {i} ({}): {META_SEGMENT},{META_SECTION} is not valid JSON: {e}",
                info.slices[i].arch
            )),
            Some(Ok(v)) => match &info.metadata {
                None => info.metadata = Some(v),
                Some(first) if *first != v => info.warnings.push(format!(
                    "slice {i} ({}) carries different metadata; reporting the first",
                    info.slices[i].arch
                )),
                Some(_) => {}
            },
        }
    }
    Ok(info)
}

/// True for a fix image name such as `libagx_fix_v2_4.dylib` (a bare name or a path, as in
/// a crash report's `usedImages`).
pub fn looks_like_fix_image(name: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name);
    base.len() >= 10 && base.as_bytes()[..10].eq_ignore_ascii_case(b"libagx_fix")
}

/// The version in a fix image name: `libagx_fix_v2_4.dylib` -> `2.4`,
/// `libagx_fix_v2_4_1.dylib` -> `2.4.1`. `None` when the name carries no version.
pub fn fix_version_from_image_name(name: &str) -> Option<String> {
    if !looks_like_fix_image(name) {
        return None;
    }
    let base = name.rsplit('/').next().unwrap_or(name);
    let rest = base[10..]
        .strip_prefix("_v")
        .or_else(|| base[10..].strip_prefix("_V"))?;
    let rest = rest.strip_suffix(".dylib").unwrap_or(rest);
    let parts: Vec<&str> = rest.split('_').collect();
    if parts.is_empty()
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    Some(parts.join("."))
}

/// The fix *name* a build file carries, as rounds and `fix add --name` use it: `v` and the
/// [version](fix_version_from_image_name) (`libagx_fix_v2_4.dylib` -> `v2.4`); any other file
/// -> its file stem (`mybuild.dylib` -> `mybuild`).
///
/// The one convention: a fix's *version* is the bare number the image name carries (`2.4`,
/// like LC_ID_DYLIB's `2.4.0`), its *name* is `v` + version (`v2.4`).
pub fn fix_name_from_file(path: &Path) -> String {
    let name = path.to_string_lossy();
    if let Some(v) = fix_version_from_image_name(&name) {
        return format!("v{v}");
    }
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("unknown")
        .to_string()
}

/// `X.Y.Z` from a packed Mach-O version (`xxxx.yy.zz` in 16.8.8 bits).
pub fn format_packed_version(v: u32) -> String {
    format!("{}.{}.{}", v >> 16, (v >> 8) & 0xff, v & 0xff)
}

fn hex_digests(bytes: &[u8]) -> (String, String) {
    (hex(&Sha256::digest(bytes)), hex(&Md5::digest(bytes)))
}

type SliceMeta = Option<Result<serde_json::Value, String>>;

fn read_slice(macho: &MachO<'_>) -> (Slice, Option<String>, SliceMeta) {
    let (cputype, cpusubtype) = (macho.header.cputype(), macho.header.cpusubtype());
    let arch = goblin::mach::cputype::get_arch_name_from_types(cputype, cpusubtype)
        .map(str::to_string)
        .unwrap_or_else(|| format!("cpu-{cputype:#x}-{cpusubtype:#x}"));
    let mut slice = Slice {
        arch,
        uuid: macho::slice_uuid(macho),
        current_version: None,
        compatibility_version: None,
    };
    for lc in &macho.load_commands {
        if let CommandVariant::IdDylib(d) = &lc.command {
            slice.current_version = Some(format_packed_version(d.dylib.current_version));
            slice.compatibility_version =
                Some(format_packed_version(d.dylib.compatibility_version));
        }
    }
    let name = macho.name.map(str::to_string);
    (slice, name, read_meta(macho))
}

fn read_meta(macho: &MachO<'_>) -> SliceMeta {
    for seg in macho.segments.iter() {
        if seg.name().ok() != Some(META_SEGMENT) {
            continue;
        }
        let Ok(sections) = seg.sections() else {
            continue;
        };
        for (sect, data) in sections {
            if sect.name().ok() != Some(META_SECTION) {
                continue;
            }
            // The fix stores a C string: JSON followed by its NUL (and maybe alignment padding).
            let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
            return Some(serde_json::from_slice(&data[..end]).map_err(|e| e.to_string()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    //! Mach-O images are synthesised byte by byte here (no toolchain needed);
    //! tests/fix_dylib.rs checks the same code against clang/ld64.lld output.
    use super::*;

    const CPU_ARM64: u32 = 0x0100_000c;
    const CPU_X86_64: u32 = 0x0100_0007;

    /// A minimal 64-bit MH_DYLIB: LC_UUID, LC_ID_DYLIB, and a __DATA segment with the meta
    /// section when `meta` is given.
    fn synth(cputype: u32, cpusubtype: u32, uuid: [u8; 16], meta: Option<&[u8]>) -> Vec<u8> {
        let name = b"libagx_fix_v2_4.dylib\0";
        let id_size = (24 + name.len()).div_ceil(8) * 8;
        let seg_size = if meta.is_some() { 72 + 80 } else { 0 };
        let ncmds = 2 + u32::from(meta.is_some());
        let sizeofcmds = 24 + id_size + seg_size;
        let data_off = 32 + sizeofcmds;
        let mut b = Vec::new();
        let w32 = |b: &mut Vec<u8>, v: u32| b.extend_from_slice(&v.to_le_bytes());
        let w64 = |b: &mut Vec<u8>, v: u64| b.extend_from_slice(&v.to_le_bytes());
        let name16 = |b: &mut Vec<u8>, s: &str| {
            let mut n = [0u8; 16];
            n[..s.len()].copy_from_slice(s.as_bytes());
            b.extend_from_slice(&n);
        };
        for v in [
            0xfeed_facf,
            cputype,
            cpusubtype,
            6,
            ncmds,
            sizeofcmds as u32,
            0,
            0,
        ] {
            w32(&mut b, v);
        }
        w32(&mut b, 0x1b); // LC_UUID
        w32(&mut b, 24);
        b.extend_from_slice(&uuid);
        w32(&mut b, 0xd); // LC_ID_DYLIB
        w32(&mut b, id_size as u32);
        for v in [24, 0, (2 << 16) | (4 << 8), 2 << 16] {
            w32(&mut b, v);
        }
        b.extend_from_slice(name);
        b.resize(32 + 24 + id_size, 0);
        if let Some(m) = meta {
            w32(&mut b, 0x19); // LC_SEGMENT_64
            w32(&mut b, 152);
            name16(&mut b, "__DATA");
            for v in [0x4000u64, 0x1000, data_off as u64, m.len() as u64] {
                w64(&mut b, v);
            }
            for v in [3, 3, 1, 0] {
                w32(&mut b, v);
            }
            name16(&mut b, "__agx_fix_meta");
            name16(&mut b, "__DATA");
            w64(&mut b, 0x4000);
            w64(&mut b, m.len() as u64);
            for v in [data_off as u32, 0, 0, 0, 0, 0, 0, 0] {
                w32(&mut b, v);
            }
            b.extend_from_slice(m);
        }
        b
    }

    fn fat(slices: &[(u32, u32, Vec<u8>)]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&0xcafe_babe_u32.to_be_bytes());
        b.extend_from_slice(&(slices.len() as u32).to_be_bytes());
        let mut off = (8 + 20 * slices.len()).div_ceil(16) * 16;
        let mut offsets = Vec::new();
        for (ct, st, data) in slices {
            for v in [*ct, *st, off as u32, data.len() as u32, 4] {
                b.extend_from_slice(&v.to_be_bytes());
            }
            offsets.push(off);
            off = (off + data.len()).div_ceil(16) * 16;
        }
        for ((_, _, data), o) in slices.iter().zip(offsets) {
            b.resize(o, 0);
            b.extend_from_slice(data);
        }
        b
    }

    const META: &[u8] = b"{\"name\":\"agx_fix\",\"version\":\"2.4\",\"selectors\":{\"encoder\":[\"endEncoding\"]}}\0\0\0";
    const U1: [u8; 16] = [0xAB; 16];
    const U2: [u8; 16] = [
        0x2f, 0x5c, 0xca, 0xc7, 0xcf, 0x4f, 0x3f, 0x87, 0x86, 0x89, 0x7c, 0x67, 0x3e, 0x90, 0xe5,
        0x95,
    ];

    #[test]
    fn thin_dylib_reports_versions_uuid_name_and_metadata() {
        let bytes = synth(CPU_ARM64, 0, U2, Some(META));
        let info = inspect_bytes(Path::new("x.dylib"), &bytes).unwrap();
        assert_eq!(info.size, bytes.len() as u64);
        assert_eq!(info.install_name.as_deref(), Some("libagx_fix_v2_4.dylib"));
        assert_eq!(
            info.slices,
            vec![Slice {
                arch: "arm64".into(),
                uuid: Some("2f5ccac7-cf4f-3f87-8689-7c673e90e595".into()),
                current_version: Some("2.4.0".into()),
                compatibility_version: Some("2.0.0".into()),
            }]
        );
        assert_eq!(info.metadata.as_ref().unwrap()["version"], "2.4");
        assert!(info.warnings.is_empty());
    }

    #[test]
    fn fat_dylib_lists_every_slice_in_file_order() {
        let bytes = fat(&[
            (CPU_X86_64, 3, synth(CPU_X86_64, 3, U1, None)),
            (CPU_ARM64, 0, synth(CPU_ARM64, 0, U2, Some(META))),
        ]);
        let mut info = inspect_bytes(Path::new("fat.dylib"), &bytes).unwrap();
        let arches: Vec<_> = info.slices.iter().map(|s| s.arch.as_str()).collect();
        assert_eq!(arches, ["x86_64", "arm64"]);
        // Metadata comes from the first slice that has it (here the second).
        assert_eq!(info.metadata.as_ref().unwrap()["name"], "agx_fix");
        info.path = "fat.dylib".into();
        insta::assert_json_snapshot!("fat_dylib_info", info);
    }

    #[test]
    fn arm64e_with_capability_bits_is_named() {
        // Regression: arm64e slices carry CPU_SUBTYPE_PTRAUTH_ABI (0x80000000) in the high bits.
        let bytes = synth(CPU_ARM64, 0x8000_0002, U1, None);
        let info = inspect_bytes(Path::new("e.dylib"), &bytes).unwrap();
        assert_eq!(info.slices[0].arch, "arm64e");
        assert_eq!(info.metadata, None);
    }

    #[test]
    fn invalid_metadata_is_a_warning_not_an_error() {
        let bytes = synth(CPU_ARM64, 0, U1, Some(b"{\"version\": 2.4,,}\0"));
        let info = inspect_bytes(Path::new("bad.dylib"), &bytes).unwrap();
        assert_eq!(info.metadata, None);
        assert_eq!(info.warnings.len(), 1);
        assert!(
            info.warnings[0].contains("not valid JSON"),
            "{:?}",
            info.warnings
        );
        assert_eq!(info.slices[0].current_version.as_deref(), Some("2.4.0"));
    }

    #[test]
    fn errors_are_typed() {
        let p = Path::new("f");
        assert!(matches!(
            inspect_bytes(p, b"hello world"),
            Err(FixError::NotMachO { .. })
        ));
        assert!(matches!(
            inspect_bytes(p, b""),
            Err(FixError::NotMachO { .. })
        ));
        let mut truncated = synth(CPU_ARM64, 0, U1, Some(META));
        truncated.truncate(40);
        let err = inspect_bytes(p, &truncated).unwrap_err();
        assert!(matches!(err, FixError::Malformed { .. }), "{err:?}");
        assert_eq!(err.code(), "malformed");
        // A fat header that promises slices beyond the end of the file.
        let mut bogus = fat(&[(CPU_ARM64, 0, synth(CPU_ARM64, 0, U1, None))]);
        bogus.truncate(60);
        assert!(matches!(
            inspect_bytes(p, &bogus),
            Err(FixError::Malformed { .. })
        ));
        let missing = inspect(Path::new("/nonexistent/libagx_fix_v0_0.dylib")).unwrap_err();
        assert!(matches!(missing, FixError::Io { .. }));
        assert_eq!(missing.code(), "io");
    }

    #[test]
    fn digests_are_lowercase_hex_of_the_whole_file() {
        let (sha, md5) = hex_digests(b"abc");
        assert_eq!(
            sha,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(md5, "900150983cd24fb0d6963f7d28e17f72");
    }

    #[test]
    fn packed_versions() {
        assert_eq!(format_packed_version((2 << 16) | (4 << 8)), "2.4.0");
        assert_eq!(
            format_packed_version((1311 << 16) | (100 << 8) | 3),
            "1311.100.3"
        );
    }

    #[test]
    fn fix_image_names() {
        assert!(looks_like_fix_image("libagx_fix_v2_4.dylib"));
        assert!(looks_like_fix_image(
            "/Users/me/fix/build/libagx_fix_v2_3.dylib"
        ));
        assert!(looks_like_fix_image("libAGX_fix.dylib"));
        assert!(!looks_like_fix_image("AGXMetalG13X"));
        assert!(!looks_like_fix_image("libagx.dylib"));
        assert!(!looks_like_fix_image("/usr/lib/libobjc.A.dylib"));
        assert!(!looks_like_fix_image(""));
        assert_eq!(
            fix_version_from_image_name("libagx_fix_v2_4.dylib").as_deref(),
            Some("2.4")
        );
        assert_eq!(
            fix_version_from_image_name("/x/libagx_fix_v2_4_1.dylib").as_deref(),
            Some("2.4.1")
        );
        assert_eq!(fix_version_from_image_name("libagx_fix.dylib"), None);
        assert_eq!(fix_version_from_image_name("libagx_fix_vx.dylib"), None);
        assert_eq!(fix_version_from_image_name("libobjc.dylib"), None);
        // One convention: the version is `2.4`, the name `v2.4`.
        assert_eq!(
            fix_name_from_file(Path::new("/b/libagx_fix_v2_4.dylib")),
            "v2.4"
        );
        assert_eq!(
            fix_name_from_file(Path::new("libagx_fix_v2_4_1.dylib")),
            "v2.4.1"
        );
        assert_eq!(fix_name_from_file(Path::new("/b/mybuild.dylib")), "mybuild");
        assert_eq!(
            fix_name_from_file(Path::new("libagx_fix_vx.dylib")),
            "libagx_fix_vx"
        );
    }
}
