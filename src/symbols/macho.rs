//! Mach-O reading: split thin and fat files into slices and turn each slice into a symcache.
//!
//! goblin splits fat binaries and reads section bounds; symbolic reads symbols and DWARF and
//! writes the symcache. Nothing here touches the store directory: callers get bytes back.
//!
//! Symbol sizes. A Mach-O symbol table has no sizes: symbolic gives every symbol the distance to
//! the next one, and the *last* symbol of the image none at all, so a symcache built from the
//! plain symbol table would resolve every address past the last function (the `__stubs`
//! section, `__const` data, far beyond the image) to that function. We clamp every symbol to
//! the end of the code section it starts in, so such addresses are reported as outside any
//! symbol instead of guessed.

use goblin::mach::load_command::CommandVariant;
use goblin::mach::{Mach, MachO};
use symbolic::common::Arch;
use symbolic::debuginfo::macho::MachObject;
use symbolic::debuginfo::Symbol;
use symbolic::symcache::{SymCache, SymCacheConverter};

use super::store::SourceKind;
use super::SymbolError;
use crate::crash::normalize_uuid;

/// One Mach-O slice converted to a symcache.
#[derive(Debug, Clone)]
pub struct ConvertedSlice {
    /// Lowercase dashed UUID (`LC_UUID`).
    pub uuid: String,
    /// symbolic's architecture name (`arm64`, `arm64e`, `x86_64`, ...).
    pub arch: String,
    /// Whether function names came from DWARF or only from the symbol table.
    pub source: SourceKind,
    /// Number of functions in the symcache.
    pub symbol_count: usize,
    /// The serialised symcache.
    pub symcache: Vec<u8>,
}

/// True when `bytes` start with a Mach-O or fat magic number (either byte order).
pub fn has_macho_magic(bytes: &[u8]) -> bool {
    let Some(magic) = bytes.get(0..4) else {
        return false;
    };
    matches!(
        magic,
        [0xfe, 0xed, 0xfa, 0xce | 0xcf]
            | [0xce | 0xcf, 0xfa, 0xed, 0xfe]
            | [0xca, 0xfe, 0xba, 0xbe | 0xbf]
    )
}

/// Convert every slice of a thin or fat Mach-O file. The outer error means the file as a whole
/// is unusable; inner errors belong to single slices (the others are still good).
pub fn convert_file(bytes: &[u8]) -> Result<Vec<Result<ConvertedSlice, SymbolError>>, SymbolError> {
    if !has_macho_magic(bytes) {
        let shown: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
        return Err(SymbolError::NotMachO(format!(
            "magic {}",
            if shown.is_empty() {
                "missing: empty file".to_string()
            } else {
                shown.join(" ")
            }
        )));
    }
    match Mach::parse(bytes) {
        Ok(Mach::Binary(_)) => Ok(vec![convert_slice(bytes)]),
        Ok(Mach::Fat(multi)) => {
            let arches = multi
                .arches()
                .map_err(|e| SymbolError::Malformed(e.to_string()))?;
            Ok(arches
                .iter()
                .map(|arch| {
                    // goblin's FatArch::slice returns an empty slice when out of bounds; we want
                    // the reason instead.
                    let start = arch.offset as usize;
                    let slice = start
                        .checked_add(arch.size as usize)
                        .and_then(|end| bytes.get(start..end))
                        .ok_or_else(|| {
                            SymbolError::Malformed(format!(
                                "fat slice at offset {} size {} runs past the end of the file ({} bytes)",
                                arch.offset,
                                arch.size,
                                bytes.len()
                            ))
                        })?;
                    convert_slice(slice)
                })
                .collect())
        }
        Err(e) => Err(SymbolError::Malformed(e.to_string())),
    }
}

/// Convert one thin Mach-O image (an executable, dylib, bundle or dSYM companion file).
pub fn convert_slice(bytes: &[u8]) -> Result<ConvertedSlice, SymbolError> {
    let macho = MachO::parse(bytes, 0).map_err(|e| SymbolError::Malformed(e.to_string()))?;
    let object = MachObject::parse(bytes).map_err(|e| SymbolError::Malformed(e.to_string()))?;
    let arch = object.arch();
    let uuid = slice_uuid(&macho).ok_or_else(|| SymbolError::NoUuid {
        arch: arch.name().to_string(),
    })?;
    let source = if object.has_debug_info() {
        SourceKind::Dwarf
    } else {
        SourceKind::SymbolTable
    };

    let mut converter = SymCacheConverter::new();
    converter.set_arch(arch);
    converter.set_debug_id(object.debug_id());
    // This is SymCacheConverter::process_object with our sized symbols in place of symbolic's
    // size-less ones (see the module docs).
    let session = object
        .debug_session()
        .map_err(|e| SymbolError::SymCache(e.to_string()))?;
    for function in session.functions() {
        let function = function.map_err(|e| SymbolError::SymCache(e.to_string()))?;
        converter.process_symbolic_function(&function);
    }
    for symbol in sized_symbols(&object, &macho) {
        converter.process_symbolic_symbol(&symbol);
    }
    let mut symcache = Vec::new();
    converter
        .serialize(&mut symcache)
        .map_err(|e| SymbolError::SymCache(e.to_string()))?;
    let symbol_count = SymCache::parse(&symcache)
        .map_err(|e| SymbolError::SymCache(e.to_string()))?
        .functions()
        .count();
    Ok(ConvertedSlice {
        uuid,
        arch: arch.name().to_string(),
        source,
        symbol_count,
        symcache,
    })
}

/// The slice's `LC_UUID`, normalised.
pub fn slice_uuid(macho: &MachO<'_>) -> Option<String> {
    macho
        .load_commands
        .iter()
        .find_map(|cmd| match cmd.command {
            CommandVariant::Uuid(ref u) => normalize_uuid(&hex(&u.uuid)),
            _ => None,
        })
}

/// Parse an architecture name as stored in the index back into symbolic's [`Arch`].
pub fn parse_arch(name: &str) -> Arch {
    name.parse().unwrap_or(Arch::Unknown)
}

/// Bytes as lowercase hex (`[0xde, 0xad]` -> `dead`): UUIDs and checksums.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Every image slice of a thin or universal Mach-O file, parsed: the one goblin walk `fixes`
/// uses too. Errors say which slice and why; a universal file without slices, or with a
/// static archive as a slice, is an error (it is not an image).
pub fn image_slices(bytes: &[u8]) -> Result<Vec<MachO<'_>>, String> {
    match Mach::parse(bytes).map_err(|e| e.to_string())? {
        Mach::Binary(macho) => Ok(vec![macho]),
        Mach::Fat(fat) => {
            if fat.narches == 0 {
                return Err("universal file with no slices".into());
            }
            let mut out = Vec::with_capacity(fat.narches);
            for i in 0..fat.narches {
                match fat.get(i).map_err(|e| format!("slice {i}: {e}"))? {
                    goblin::mach::SingleArch::MachO(m) => out.push(m),
                    goblin::mach::SingleArch::Archive(_) => {
                        return Err(format!("slice {i} is a static archive, not an image"))
                    }
                }
            }
            Ok(out)
        }
    }
}

/// Code sections of `__TEXT` as `[start, end)` relative to the `__TEXT` vmaddr (the image's load
/// address, which is how symbolic and crash reports count offsets).
fn code_ranges(macho: &MachO<'_>) -> Vec<(u64, u64)> {
    let mut ranges = Vec::new();
    for segment in &macho.segments {
        if segment.name().ok() != Some("__TEXT") {
            continue;
        }
        let base = segment.vmaddr;
        for section in segment.into_iter().flatten() {
            let (section, _) = section;
            // S_ATTR_PURE_INSTRUCTIONS | S_ATTR_SOME_INSTRUCTIONS: __text, __stubs, __auth_stubs ...
            let has_code = section.flags & (0x8000_0000 | 0x0000_0400) != 0;
            if has_code && section.addr >= base {
                let start = section.addr - base;
                ranges.push((start, start.saturating_add(section.size)));
            }
        }
    }
    ranges.sort_unstable();
    ranges
}

/// The symbol table with each symbol ending at the next symbol or at the end of its code
/// section, whichever comes first. Symbols outside every code section are dropped.
fn sized_symbols<'d>(object: &MachObject<'d>, macho: &MachO<'_>) -> Vec<Symbol<'d>> {
    let ranges = code_ranges(macho);
    let map = object.symbol_map();
    let mut symbols: Vec<Symbol<'d>> = Vec::with_capacity(map.len());
    for symbol in map.iter() {
        let Some(&(_, section_end)) = ranges
            .iter()
            .find(|(start, end)| symbol.address >= *start && symbol.address < *end)
        else {
            continue;
        };
        let mut sized = symbol.clone();
        let natural_end = if symbol.size == 0 {
            section_end
        } else {
            symbol.address.saturating_add(symbol.size)
        };
        sized.size = natural_end.min(section_end) - symbol.address;
        symbols.push(sized);
    }
    symbols
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers() {
        assert!(has_macho_magic(&[0xcf, 0xfa, 0xed, 0xfe, 0, 0]));
        assert!(has_macho_magic(&[0xfe, 0xed, 0xfa, 0xcf]));
        assert!(has_macho_magic(&[0xca, 0xfe, 0xba, 0xbe]));
        assert!(!has_macho_magic(b"\x7fELF"));
        assert!(!has_macho_magic(b"{\"bu"));
        assert!(!has_macho_magic(&[0xcf, 0xfa]));
    }

    #[test]
    fn non_macho_is_a_typed_error() {
        let err = convert_file(b"#!/bin/sh\necho hi\n").unwrap_err();
        assert_eq!(err.code(), "not-macho");
        assert_eq!(err.to_string(), "not a Mach-O file (magic 23 21 2f 62)");
        assert_eq!(convert_file(b"").unwrap_err().code(), "not-macho");
    }

    #[test]
    fn truncated_macho_is_malformed_not_a_panic() {
        // A 64-bit arm64 header cut after its first fields.
        let bytes = [0xcf, 0xfa, 0xed, 0xfe, 0x0c, 0x00, 0x00, 0x01, 0x00];
        let err = convert_file(&bytes).unwrap_err();
        assert_eq!(err.code(), "malformed");
    }

    #[test]
    fn truncated_fat_slice_is_reported_per_slice() {
        // Fat header with one arm64 slice claiming 4096 bytes at offset 4096 of a 28-byte file.
        let mut bytes = vec![0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 1];
        bytes.extend_from_slice(&[0x01, 0x00, 0x00, 0x0c]); // cputype arm64
        bytes.extend_from_slice(&[0, 0, 0, 0]); // cpusubtype
        bytes.extend_from_slice(&[0, 0, 0x10, 0]); // offset
        bytes.extend_from_slice(&[0, 0, 0x10, 0]); // size
        bytes.extend_from_slice(&[0, 0, 0, 14]); // align
        match convert_file(&bytes) {
            Ok(slices) => {
                assert_eq!(slices.len(), 1);
                assert_eq!(slices[0].as_ref().unwrap_err().code(), "malformed");
            }
            Err(e) => assert_eq!(e.code(), "malformed"),
        }
    }
}
