//! Naming a fix build for a round run with `--dylib PATH`: the registered version with the
//! same checksum, else the name the file carries ([`crate::fixes::fix_name_from_file`]).

use std::path::Path;

use crate::store::Store;

use super::OpsError;

/// The fix name to record for a round run with `--dylib PATH`: the registered version whose
/// file has the same sha256, else a name from the file (`libagx_fix_v2_4.dylib` -> `v2.4`).
pub fn name_for_dylib(store: &Store, path: &Path) -> Result<String, OpsError> {
    let sha = crate::fixes::inspect(path)?.sha256;
    if let Some(f) = store
        .list_fixes()?
        .into_iter()
        .find(|f| f.sha256.as_deref() == Some(sha.as_str()))
    {
        return Ok(f.name);
    }
    Ok(crate::fixes::fix_name_from_file(path))
}
