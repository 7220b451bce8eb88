//! `agx-triage fix inspect|add|list`: the fix-version registry.

use std::path::Path;

use anyhow::Result;

use agx_triage::store::Store;

/// The fix name to record for a round run with `--dylib PATH`: the registered version whose
/// file has the same sha256, else a name from the file (`libagx_fix_v2_4.dylib` -> `v2.4`).
pub fn name_for_dylib(store: &Store, path: &Path) -> Result<String> {
    let bytes = std::fs::read(path)?;
    let sha = {
        use sha2::Digest;
        let d = sha2::Sha256::digest(&bytes);
        d.iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    if let Some(f) = store
        .list_fixes()?
        .into_iter()
        .find(|f| f.sha256.as_deref() == Some(sha.as_str()))
    {
        return Ok(f.name);
    }
    Ok(name_from_file(path))
}

/// `libagx_fix_v2_4.dylib` -> `v2.4`; anything else -> the file stem.
pub fn name_from_file(path: &Path) -> String {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("unknown")
        .to_string();
    match stem.strip_prefix("libagx_fix_") {
        Some(v) if v.starts_with('v') => v.replace('_', "."),
        _ => stem,
    }
}
