//! The symbol store: a directory of `<uuid>.symcache` files plus `index.json`.
//!
//! Layout (next to the database, `<db dir>/<db name>.symbols/`):
//!
//! ```text
//! index.json                                   {"version":1,"slices":[SliceInfo...]}
//! 4c4c4480-5555-3144-a1e3-d67b3aeb7014.symcache one per Mach-O slice, keyed by LC_UUID
//! ```
//!
//! Every file is written to a temporary name in the same directory and renamed into place, so
//! a crash mid-write never leaves a half-written symcache or index behind. The store assumes
//! one writer at a time (the CLI holds it for one command); readers only see complete files.
//! Lookups load symcaches lazily and keep them in memory, so a batch of lookups against one
//! image parses its symcache once.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use symbolic::common::{ByteView, InstructionInfo, Language, Name, SelfCell};
use symbolic::demangle::{Demangle, DemangleOptions};
use symbolic::symcache::SymCache;

use super::macho::{self, ConvertedSlice};
use super::{SymbolError, SymbolProvider};
use crate::crash::normalize_uuid;

const INDEX_FILE: &str = "index.json";
const INDEX_VERSION: u32 = 1;

/// Where a slice's function names came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    /// Only the Mach-O symbol table (exported and local symbols; no lines, no inlining).
    SymbolTable,
    /// DWARF (a dSYM): function ranges, inlining and source lines, plus the symbol table.
    Dwarf,
}

impl SourceKind {
    /// Stable name used in the index and in CLI output.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::SymbolTable => "symbol-table",
            SourceKind::Dwarf => "dwarf",
        }
    }
}

/// One indexed Mach-O slice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SliceInfo {
    /// Lowercase dashed `LC_UUID`.
    pub uuid: String,
    /// File name of the image (`AGXMetalG16X`, `libtorch_cpu.dylib`; for a dSYM, the name of
    /// the file under `Contents/Resources/DWARF/`).
    pub name: String,
    /// `arm64`, `arm64e`, `x86_64`, ...
    pub arch: String,
    /// The file the slice was read from, as given (made absolute when possible).
    pub path: PathBuf,
    pub source: SourceKind,
    /// Number of functions in the symcache.
    pub symbol_count: usize,
    pub added_at: DateTime<Utc>,
}

/// A slice that was read but not stored because the store already had a better one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedSlice {
    pub path: PathBuf,
    pub uuid: String,
    pub arch: String,
    /// Why it was not stored (`dwarf already indexed from ...`).
    pub reason: String,
}

/// What [`SymbolStore::add_path`] did.
#[derive(Debug, Default)]
pub struct AddOutcome {
    /// Slices written to the store (new, or replacing a symbol-table-only slice).
    pub added: Vec<SliceInfo>,
    /// Files (or fat slices) that could not be read: path and reason. Never fatal.
    pub errors: Vec<(PathBuf, SymbolError)>,
    /// Slices not stored because DWARF for the same UUID is already indexed.
    pub skipped: Vec<SkippedSlice>,
    /// Files met while walking a directory that are not Mach-O at all (scripts, headers,
    /// Info.plist ...). A non-Mach-O file named directly is an error instead.
    pub not_macho: Vec<PathBuf>,
}

/// Result of one lookup.
#[derive(Debug, Clone)]
pub enum Lookup {
    Found {
        /// Demangled C++/Swift name; Objective-C and C names as they are.
        symbol: String,
        /// Offset of the frame's pc into the function, from the original (unadjusted) offset.
        symbol_offset: u64,
        source_file: Option<String>,
        source_line: Option<u32>,
    },
    /// The UUID is in the store, but no symbol covers the offset.
    OutsideSymbols,
    /// No slice with this UUID in the store.
    UnknownUuid,
    /// The UUID is indexed but its symcache cannot be read (deleted or damaged file).
    Broken {
        /// Why ([`SymbolError::Io`] or [`SymbolError::BrokenCache`]); shared, since a lookup
        /// result is cloned per frame.
        error: Arc<SymbolError>,
    },
}

/// Two lookups are equal when they found the same thing; two broken lookups when their errors
/// have the same code and message (an I/O error has no equality of its own).
impl PartialEq for Lookup {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (
                Lookup::Found {
                    symbol: a,
                    symbol_offset: b,
                    source_file: c,
                    source_line: d,
                },
                Lookup::Found {
                    symbol: e,
                    symbol_offset: f,
                    source_file: g,
                    source_line: h,
                },
            ) => a == e && b == f && c == g && d == h,
            (Lookup::OutsideSymbols, Lookup::OutsideSymbols)
            | (Lookup::UnknownUuid, Lookup::UnknownUuid) => true,
            (Lookup::Broken { error: a }, Lookup::Broken { error: b }) => {
                a.code() == b.code() && a.to_string() == b.to_string()
            }
            _ => false,
        }
    }
}

impl Eq for Lookup {}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Index {
    version: u32,
    slices: Vec<SliceInfo>,
}

type LoadedCache = SelfCell<ByteView<'static>, SymCache<'static>>;

/// The on-disk store. See the module docs.
pub struct SymbolStore {
    dir: PathBuf,
    /// By UUID.
    slices: BTreeMap<String, SliceInfo>,
    /// Symcaches loaded so far, by UUID. A mutex so `lookup` can take `&self`.
    loaded: Mutex<HashMap<String, Arc<LoadedCache>>>,
}

impl std::fmt::Debug for SymbolStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SymbolStore")
            .field("dir", &self.dir)
            .field("slices", &self.slices.len())
            .finish()
    }
}

impl SymbolStore {
    /// Open the store in `dir`, creating the directory if needed.
    pub fn open(dir: impl AsRef<Path>) -> Result<SymbolStore, SymbolError> {
        let dir = dir.as_ref().to_path_buf();
        fs::create_dir_all(&dir).map_err(|e| SymbolError::io(&dir, e))?;
        let index_path = dir.join(INDEX_FILE);
        let index = match fs::read(&index_path) {
            Ok(bytes) => {
                let index: Index =
                    serde_json::from_slice(&bytes).map_err(|source| SymbolError::Index {
                        path: index_path.clone(),
                        source,
                    })?;
                if index.version != INDEX_VERSION {
                    return Err(SymbolError::IndexVersion {
                        path: index_path,
                        found: index.version,
                        expected: INDEX_VERSION,
                    });
                }
                index
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Index {
                version: INDEX_VERSION,
                slices: Vec::new(),
            },
            Err(e) => return Err(SymbolError::io(index_path, e)),
        };
        Ok(SymbolStore {
            dir,
            slices: index
                .slices
                .into_iter()
                .map(|s| (s.uuid.clone(), s))
                .collect(),
            loaded: Mutex::new(HashMap::new()),
        })
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every indexed slice, ordered by UUID.
    pub fn list(&self) -> Vec<SliceInfo> {
        self.slices.values().cloned().collect()
    }

    /// The indexed slice with this UUID (any spelling [`normalize_uuid`] accepts).
    pub fn get(&self, uuid: &str) -> Option<&SliceInfo> {
        self.slices.get(&normalize_uuid(uuid)?)
    }

    /// Add a Mach-O image, fat binary, `.dSYM` bundle or a directory (walked recursively,
    /// symlinks not followed) to the store. Every slice is indexed by its own UUID; when a
    /// UUID is already indexed, DWARF wins over a symbol table and otherwise the newer file
    /// replaces the older. Unreadable files are reported in the outcome, never fatal. The
    /// index is written once at the end (atomically).
    pub fn add_path(&mut self, path: impl AsRef<Path>) -> AddOutcome {
        let path = path.as_ref();
        let mut outcome = AddOutcome::default();
        let meta = match fs::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                outcome
                    .errors
                    .push((path.to_path_buf(), SymbolError::io(path, e)));
                return outcome;
            }
        };
        if meta.is_dir() {
            // A `.dSYM` bundle is a directory like any other: its DWARF companion files under
            // Contents/Resources/DWARF/ are Mach-O (MH_DSYM) and found by the walk; Info.plist
            // is not Mach-O and is skipped.
            let walk = walkdir::WalkDir::new(path)
                .follow_links(false)
                .sort_by_file_name();
            for entry in walk {
                match entry {
                    Ok(entry) if entry.file_type().is_file() => {
                        self.add_file(entry.path(), false, &mut outcome)
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let at = e.path().unwrap_or(path).to_path_buf();
                        let io = e
                            .into_io_error()
                            .unwrap_or_else(|| std::io::Error::other("directory walk failed"));
                        outcome.errors.push((at.clone(), SymbolError::io(at, io)));
                    }
                }
            }
        } else {
            self.add_file(path, true, &mut outcome);
        }
        if !outcome.added.is_empty() {
            if let Err(e) = self.write_index() {
                outcome.errors.push((self.dir.join(INDEX_FILE), e));
            }
        }
        outcome
    }

    fn add_file(&mut self, path: &Path, named_directly: bool, outcome: &mut AddOutcome) {
        let bytes = match fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                outcome
                    .errors
                    .push((path.to_path_buf(), SymbolError::io(path, e)));
                return;
            }
        };
        if !named_directly && !macho::has_macho_magic(&bytes) {
            outcome.not_macho.push(path.to_path_buf());
            return;
        }
        let slices = match macho::convert_file(&bytes) {
            Ok(s) => s,
            Err(e) => {
                outcome.errors.push((path.to_path_buf(), e));
                return;
            }
        };
        for slice in slices {
            match slice {
                Ok(slice) => self.store_slice(path, slice, outcome),
                Err(e) => outcome.errors.push((path.to_path_buf(), e)),
            }
        }
    }

    fn store_slice(&mut self, path: &Path, slice: ConvertedSlice, outcome: &mut AddOutcome) {
        if let Some(existing) = self.slices.get(&slice.uuid) {
            if existing.source == SourceKind::Dwarf && slice.source == SourceKind::SymbolTable {
                outcome.skipped.push(SkippedSlice {
                    path: path.to_path_buf(),
                    uuid: slice.uuid,
                    arch: slice.arch,
                    reason: format!("DWARF already indexed from {}", existing.path.display()),
                });
                return;
            }
        }
        let file = self.dir.join(format!("{}.symcache", slice.uuid));
        if let Err(e) = write_atomically(&file, &slice.symcache) {
            outcome.errors.push((path.to_path_buf(), e));
            return;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let info = SliceInfo {
            uuid: slice.uuid.clone(),
            name,
            arch: slice.arch,
            path: fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
            source: slice.source,
            symbol_count: slice.symbol_count,
            added_at: Utc::now(),
        };
        if let Ok(mut loaded) = self.loaded.lock() {
            loaded.remove(&slice.uuid);
        }
        self.slices.insert(slice.uuid, info.clone());
        outcome.added.push(info);
    }

    fn write_index(&self) -> Result<(), SymbolError> {
        let index = Index {
            version: INDEX_VERSION,
            slices: self.list(),
        };
        let json = serde_json::to_vec_pretty(&index).map_err(|source| SymbolError::Index {
            path: self.dir.join(INDEX_FILE),
            source,
        })?;
        write_atomically(&self.dir.join(INDEX_FILE), &json)
    }

    /// Load (once) the symcache of an indexed UUID.
    fn cache(&self, uuid: &str) -> Result<Arc<LoadedCache>, SymbolError> {
        if let Ok(loaded) = self.loaded.lock() {
            if let Some(cache) = loaded.get(uuid) {
                return Ok(Arc::clone(cache));
            }
        }
        let file = self.dir.join(format!("{uuid}.symcache"));
        let view = ByteView::open(&file).map_err(|e| SymbolError::io(&file, e))?;
        // SAFETY: SelfCell keeps the mapped bytes alive and in place for as long as the parsed
        // SymCache that borrows them (symbolic's documented pattern for owned symcaches).
        let cache = SelfCell::try_new(view, |data| SymCache::parse(unsafe { &*data })).map_err(
            |source| SymbolError::BrokenCache {
                path: file.clone(),
                source,
            },
        )?;
        let cache = Arc::new(cache);
        if let Ok(mut loaded) = self.loaded.lock() {
            loaded.insert(uuid.to_string(), Arc::clone(&cache));
        }
        Ok(cache)
    }

    /// Resolve `image_offset` in the slice with this UUID. For a return address
    /// (`is_crashing_frame == false`) the lookup uses the previous instruction (arm64: pc-4 after
    /// aligning, x86_64: pc-1; symbolic's [`InstructionInfo`]), while `symbol_offset` is still
    /// measured from `image_offset` as given.
    pub fn lookup(&self, uuid: &str, image_offset: u64, is_crashing_frame: bool) -> Lookup {
        let Some(uuid) = normalize_uuid(uuid) else {
            return Lookup::UnknownUuid;
        };
        let Some(info) = self.slices.get(&uuid) else {
            return Lookup::UnknownUuid;
        };
        let cache = match self.cache(&uuid) {
            Ok(c) => c,
            Err(error) => {
                return Lookup::Broken {
                    error: Arc::new(error),
                }
            }
        };
        let arch = macho::parse_arch(&info.arch);
        // Offsets this small are inside the Mach-O header; they would also underflow the
        // return-address adjustment below.
        if image_offset < 16 {
            return Lookup::OutsideSymbols;
        }
        let lookup_offset = InstructionInfo::new(arch, image_offset)
            .is_crashing_frame(is_crashing_frame)
            .caller_address();
        resolve(cache.get(), lookup_offset, image_offset)
    }
}

impl SymbolProvider for SymbolStore {
    fn lookup(&self, uuid: &str, image_offset: u64, is_crashing_frame: bool) -> Lookup {
        SymbolStore::lookup(self, uuid, image_offset, is_crashing_frame)
    }
}

/// Look `lookup_offset` up and describe it, measuring `symbol_offset` from `original_offset`.
///
/// With DWARF one address maps to a chain of inlined functions, innermost first. A report frame
/// names one concrete function, so we report the outermost one (the function whose code this
/// is, the one the symbol offset is relative to) with its own source line (the call site of the
/// inlined code).
fn resolve(cache: &SymCache<'_>, lookup_offset: u64, original_offset: u64) -> Lookup {
    if lookup_offset > u64::from(u32::MAX) {
        // symcache addresses are 32-bit offsets from the image start.
        return Lookup::OutsideSymbols;
    }
    let Some(outer) = cache.lookup(lookup_offset).last() else {
        return Lookup::OutsideSymbols;
    };
    let function = outer.function();
    let symbol = demangle(function.name_for_demangling());
    let line = outer.line();
    Lookup::Found {
        symbol,
        symbol_offset: original_offset.saturating_sub(u64::from(function.entry_pc())),
        source_file: outer.file().map(|f| f.full_path()),
        source_line: (line != 0).then_some(line),
    }
}

/// Demangle C++/Swift names; Objective-C and C names stay as they are.
///
/// Folklore: DWARF tags each function with its compile unit's language, and symbolic only
/// demangles names whose language is C++/Swift/unknown. A C compile unit can still define a
/// mangled name through an asm label (`void f(void) __asm__("__ZN3AGX...")`, as our fixtures and
/// some hand-written shims do), which would stay `_ZN3AGX...`. When the language-directed attempt
/// leaves the name unchanged, we retry with the language guessed from the name, as
/// llvm-symbolizer does.
fn demangle(name: Name<'_>) -> String {
    let options = DemangleOptions::complete();
    let first = name.try_demangle(options);
    if first != name.as_str() || !matches!(name.language(), Language::C) {
        return first.into_owned();
    }
    Name::from(name.as_str()).try_demangle(options).into_owned()
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Write `bytes` to `path` through a temporary file in the same directory and a rename, so the
/// target is either the old or the new file, never a partial one.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), SymbolError> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(
        ".{name}.tmp-{}-{}",
        std::process::id(),
        TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = (|| {
        let mut file = fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        SymbolError::io(path, e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_creates_an_empty_store_and_rejects_a_damaged_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = SymbolStore::open(dir.path().join("db.symbols")).unwrap();
        assert!(store.list().is_empty());
        assert_eq!(
            store.lookup("2f5ccac7-cf4f-3f87-8689-7c673e90e595", 0x100, true),
            Lookup::UnknownUuid
        );
        assert_eq!(store.lookup("not a uuid", 0x100, true), Lookup::UnknownUuid);

        fs::write(dir.path().join("db.symbols").join(INDEX_FILE), b"{\"vers").unwrap();
        let err = SymbolStore::open(dir.path().join("db.symbols")).unwrap_err();
        assert_eq!(err.code(), "index");
    }

    #[test]
    fn missing_symcache_is_broken_not_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let index = Index {
            version: INDEX_VERSION,
            slices: vec![SliceInfo {
                uuid: "2f5ccac7-cf4f-3f87-8689-7c673e90e595".into(),
                name: "AGXMetalG16X".into(),
                arch: "arm64e".into(),
                path: "/System/Library/Extensions/AGXMetalG16X.bundle".into(),
                source: SourceKind::SymbolTable,
                symbol_count: 1,
                added_at: Utc::now(),
            }],
        };
        fs::write(
            dir.path().join(INDEX_FILE),
            serde_json::to_vec(&index).unwrap(),
        )
        .unwrap();
        let store = SymbolStore::open(dir.path()).unwrap();
        assert_eq!(store.list().len(), 1);
        assert!(matches!(
            store.lookup("2F5CCAC7CF4F3F8786897C673E90E595", 0x1000, true),
            Lookup::Broken { .. }
        ));
    }

    /// A store whose index names one slice, with `symcache` (if any) as its file.
    fn store_with_one_slice(dir: &Path, symcache: Option<&[u8]>) -> SymbolStore {
        let uuid = "2f5ccac7-cf4f-3f87-8689-7c673e90e595";
        let index = Index {
            version: INDEX_VERSION,
            slices: vec![SliceInfo {
                uuid: uuid.into(),
                name: "AGXMetalG16X".into(),
                arch: "arm64e".into(),
                path: "/System/Library/Extensions/AGXMetalG16X.bundle".into(),
                source: SourceKind::SymbolTable,
                symbol_count: 1,
                added_at: Utc::now(),
            }],
        };
        fs::write(dir.join(INDEX_FILE), serde_json::to_vec(&index).unwrap()).unwrap();
        if let Some(bytes) = symcache {
            fs::write(dir.join(format!("{uuid}.symcache")), bytes).unwrap();
        }
        SymbolStore::open(dir).unwrap()
    }

    fn broken_code(l: Lookup) -> &'static str {
        match l {
            Lookup::Broken { error } => error.code(),
            other => panic!("expected a broken lookup, got {other:?}"),
        }
    }

    // Regression: the reason a symcache could not be loaded was a bare string; it is a typed
    // error with its own stable code now: a missing file is `io`, a damaged one `broken-cache`.
    #[test]
    fn broken_symcache_reasons_are_typed() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_with_one_slice(dir.path(), None);
        let missing = store.lookup("2f5ccac7-cf4f-3f87-8689-7c673e90e595", 0x1000, true);
        assert_eq!(broken_code(missing.clone()), "io");
        assert_eq!(missing, missing.clone());

        let dir = tempfile::tempdir().unwrap();
        let store = store_with_one_slice(dir.path(), Some(b"not a symcache at all"));
        let damaged = store.lookup("2f5ccac7-cf4f-3f87-8689-7c673e90e595", 0x1000, true);
        assert_ne!(damaged, missing);
        let Lookup::Broken { error } = damaged else {
            panic!("expected a broken lookup")
        };
        assert_eq!(error.code(), "broken-cache");
        assert!(
            error.to_string().contains(".symcache is unreadable"),
            "{error}"
        );
    }

    #[test]
    fn index_of_another_version_is_its_own_error() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join(INDEX_FILE),
            br#"{"version": 999, "slices": []}"#,
        )
        .unwrap();
        let err = SymbolStore::open(dir.path()).unwrap_err();
        assert_eq!(err.code(), "index-version");
        assert!(err.to_string().contains("index version 999"), "{err}");
    }

    #[test]
    fn atomic_write_replaces_and_leaves_no_temporary_files() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("x.symcache");
        write_atomically(&target, b"one").unwrap();
        write_atomically(&target, b"two").unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("x.symcache")]);
    }

    #[test]
    fn explicitly_named_non_macho_is_an_error_but_walked_ones_are_listed() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in");
        fs::create_dir(&input).unwrap();
        fs::write(input.join("README.txt"), b"hello").unwrap();
        let mut store = SymbolStore::open(dir.path().join("store")).unwrap();

        let named = store.add_path(input.join("README.txt"));
        assert_eq!(named.errors.len(), 1);
        assert_eq!(named.errors[0].1.code(), "not-macho");

        let walked = store.add_path(&input);
        assert!(walked.errors.is_empty());
        assert_eq!(walked.not_macho, vec![input.join("README.txt")]);

        let missing = store.add_path(input.join("nope"));
        assert_eq!(missing.errors[0].1.code(), "io");
        assert!(store.list().is_empty());
    }
}
