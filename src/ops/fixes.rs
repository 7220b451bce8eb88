//! Naming a fix build for a round run with `--dylib PATH`: the registered version with the
//! same checksum, else the name the file carries ([`crate::fixes::fix_name_from_file`]);
//! and registering a build under a name (`fix add`).

use std::path::Path;

use crate::store::{FixRecord, FixSlice, RegisterOutcome, Store};

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

/// The registry record of the build at `path` under `name`: its checksums, install name,
/// metadata and slices. A build without any `LC_UUID` cannot be registered (reports name
/// builds by UUID), which is [`OpsError::Invalid`].
pub fn fix_record(path: &Path, name: &str) -> Result<FixRecord, OpsError> {
    let info = crate::fixes::inspect(path)?;
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let record = FixRecord {
        name: name.to_string(),
        path: Some(abs.display().to_string()),
        size: Some(info.size),
        sha256: Some(info.sha256),
        md5: Some(info.md5),
        install_name: info.install_name,
        metadata: info.metadata,
        slices: info
            .slices
            .into_iter()
            .filter_map(|s| {
                Some(FixSlice {
                    arch: Some(s.arch),
                    uuid: s.uuid?,
                    current_version: s.current_version,
                    compatibility_version: s.compatibility_version,
                })
            })
            .collect(),
        registered_at: None,
        reports: 0,
        rounds: 0,
    };
    if record.slices.is_empty() {
        return Err(OpsError::Invalid(format!(
            "{}: no slice has an LC_UUID; cannot register",
            path.display()
        )));
    }
    Ok(record)
}

/// Register the build at `path` as `name` and link the reports and rounds that used it.
pub fn register(
    store: &mut Store,
    path: &Path,
    name: &str,
) -> Result<(FixRecord, RegisterOutcome), OpsError> {
    let record = fix_record(path, name)?;
    let outcome = store.register_fix(&record)?;
    Ok((record, outcome))
}
