//! The machine agx-triage runs on: a stable identity, a name, the hardware model and the OS
//! (docs/FLEET.md). Rounds record the host they ran on, so that rounds from several machines
//! can live in one database without their round numbers colliding.
//!
//! Detection never fails: each part that cannot be read (a missing tool, a sandbox, an
//! unknown platform) stays unknown (`None`), and the name falls back to `unknown`. The parsers
//! of each tool's output are separate functions, tested on fixed strings.

use std::process::Command;

/// The name used when neither `--host`, `AGX_TRIAGE_HOST` nor the hostname gives one.
pub const UNKNOWN_NAME: &str = "unknown";

/// A machine, as far as it is known.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostInfo {
    /// The name rounds are selected by (`host:NAME`): the hostname unless overridden.
    pub name: String,
    /// A stable identity of the machine: macOS `IOPlatformUUID`, Linux `/etc/machine-id`.
    pub machine_id: Option<String>,
    /// The hardware model (`Mac15,9`), macOS only.
    pub hardware_model: Option<String>,
    /// The operating system and version (`macOS 15.1 (24B83)`, `Ubuntu 24.04.1 LTS`).
    pub os: Option<String>,
    /// Whether the name was chosen by the user (`--host`, `AGX_TRIAGE_HOST`) rather than
    /// read from the hostname: a chosen name renames a known machine, a hostname (which macOS
    /// changes with the network) does not.
    pub name_chosen: bool,
}

impl HostInfo {
    /// A host known by name only (`round import --host NAME`, a merged database's host).
    pub fn named(name: &str) -> HostInfo {
        HostInfo {
            name: name.to_string(),
            name_chosen: true,
            ..HostInfo::default()
        }
    }
}

/// This machine, detected on first use: detection runs tools (`ioreg`, `sysctl`, `sw_vers`
/// on macOS), and most commands never need it (only saving a round, recording who ingested a
/// report, or migrating rounds made before hosts existed do).
#[derive(Debug, Clone)]
pub struct LocalHost {
    name: Option<String>,
    info: std::sync::OnceLock<HostInfo>,
}

impl LocalHost {
    /// Detect on first use, named `name` (from `--host` or `AGX_TRIAGE_HOST`, already
    /// checked) or else by the hostname (see [`detect`]).
    pub fn detect_later(name: Option<&str>) -> LocalHost {
        LocalHost {
            name: name.map(str::to_string),
            info: std::sync::OnceLock::new(),
        }
    }

    /// A host already known (tests, a merge source's copy).
    pub fn known(info: HostInfo) -> LocalHost {
        LocalHost {
            name: Some(info.name.clone()),
            info: std::sync::OnceLock::from(info),
        }
    }

    /// The machine, detected now if it was not yet.
    pub fn get(&self) -> &HostInfo {
        self.info.get_or_init(|| detect(self.name.as_deref()))
    }
}

/// Check a host name given by the user: not empty, no `,` or `:` (they separate selectors),
/// no control characters, at most 255 bytes.
pub fn check_name(name: &str) -> Result<String, String> {
    let n = name.trim();
    if n.is_empty() {
        return Err("a host name cannot be empty".into());
    }
    if n.len() > 255 {
        return Err(format!("host name `{n}` is longer than 255 bytes"));
    }
    if n.contains([',', ':']) || n.chars().any(char::is_control) {
        return Err(format!(
            "host name `{}` may not contain `,`, `:` or control characters",
            n.escape_debug()
        ));
    }
    Ok(n.to_string())
}

/// Detect this machine. `name` (from `--host` or `AGX_TRIAGE_HOST`, already checked) wins
/// over the hostname.
pub fn detect(name: Option<&str>) -> HostInfo {
    let (machine_id, hardware_model, os) = if cfg!(target_os = "macos") {
        (
            run("ioreg", &["-rd1", "-c", "IOPlatformExpertDevice"])
                .and_then(|o| parse_ioreg_uuid(&o)),
            run("sysctl", &["-n", "hw.model"]).and_then(|o| parse_line(&o)),
            run("sw_vers", &[]).and_then(|o| parse_sw_vers(&o)),
        )
    } else {
        (
            std::fs::read_to_string("/etc/machine-id")
                .ok()
                .and_then(|s| parse_machine_id(&s)),
            None,
            std::fs::read_to_string("/etc/os-release")
                .ok()
                .and_then(|s| parse_os_release(&s)),
        )
    };
    let hostname = nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .and_then(|h| parse_hostname(&h));
    let (name, name_chosen) = match name {
        Some(n) => (n.to_string(), true),
        None => (hostname.unwrap_or_else(|| UNKNOWN_NAME.to_string()), false),
    };
    HostInfo {
        name,
        machine_id,
        hardware_model,
        os,
        name_chosen,
    }
}

/// A tool's standard output, or `None` when it is missing, fails or prints no UTF-8.
fn run(tool: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(tool)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8(out.stdout).ok()
}

/// The first non-empty line, trimmed.
fn parse_line(s: &str) -> Option<String> {
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_string)
}

/// `ioreg -rd1 -c IOPlatformExpertDevice` prints the device's properties, among them
/// `    "IOPlatformUUID" = "4C4C4544-0042-3510-8052-B4C04F4E4C31"`.
pub fn parse_ioreg_uuid(s: &str) -> Option<String> {
    s.lines().find_map(|l| {
        let (key, value) = l.split_once('=')?;
        if key.trim() != "\"IOPlatformUUID\"" {
            return None;
        }
        let v = value.trim().trim_matches('"').trim();
        (!v.is_empty()).then(|| v.to_ascii_uppercase())
    })
}

/// `sw_vers` prints `ProductName:\tmacOS`, `ProductVersion:\t15.1`, `BuildVersion:\t24B83`
/// (older systems say `Mac OS X`); the result is `macOS 15.1 (24B83)`.
pub fn parse_sw_vers(s: &str) -> Option<String> {
    let field = |k: &str| {
        s.lines().find_map(|l| {
            let (key, v) = l.split_once(':')?;
            (key.trim() == k)
                .then(|| v.trim().to_string())
                .filter(|v| !v.is_empty())
        })
    };
    let (name, version, build) = (
        field("ProductName"),
        field("ProductVersion"),
        field("BuildVersion"),
    );
    let mut out = match (name, version) {
        (Some(n), Some(v)) => format!("{n} {v}"),
        (Some(n), None) => n,
        (None, Some(v)) => format!("macOS {v}"),
        (None, None) => return None,
    };
    if let Some(b) = build {
        out.push_str(&format!(" ({b})"));
    }
    Some(out)
}

/// `/etc/machine-id`: 32 lower-case hex digits and a newline. Anything else (an empty file in
/// a container image, `uninitialized`) is no identity.
pub fn parse_machine_id(s: &str) -> Option<String> {
    let id = s.trim();
    (id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit())).then(|| id.to_ascii_lowercase())
}

/// `/etc/os-release`: `PRETTY_NAME="Ubuntu 24.04.1 LTS"`, else `NAME` and `VERSION_ID`.
pub fn parse_os_release(s: &str) -> Option<String> {
    let field = |k: &str| {
        s.lines().find_map(|l| {
            let (key, v) = l.split_once('=')?;
            (key.trim() == k)
                .then(|| v.trim().trim_matches('"').trim_matches('\'').to_string())
                .filter(|v| !v.is_empty())
        })
    };
    field("PRETTY_NAME").or_else(|| match (field("NAME"), field("VERSION_ID")) {
        (Some(n), Some(v)) => Some(format!("{n} {v}")),
        (n, _) => n,
    })
}

/// The hostname (as `hostname` prints it, perhaps with a newline); a name that would not pass [`check_name`]
/// (empty, or with a `:` or `,`) is cleaned or dropped rather than failing a command.
pub fn parse_hostname(s: &str) -> Option<String> {
    let line = parse_line(s)?;
    let cleaned: String = line
        .chars()
        .map(|c| if c == ',' || c == ':' { '-' } else { c })
        .filter(|c| !c.is_control())
        .collect();
    check_name(&cleaned).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ioreg_uuid() {
        let out = "+-o J416cAP  <class IOPlatformExpertDevice, id 0x100000211, registered>\n    {\n      \"IOPlatformSerialNumber\" = \"XYZ123\"\n      \"IOPlatformUUID\" = \"4c4c4544-0042-3510-8052-b4c04f4e4c31\"\n      \"model\" = <\"Mac15,9\">\n    }\n";
        assert_eq!(
            parse_ioreg_uuid(out).as_deref(),
            Some("4C4C4544-0042-3510-8052-B4C04F4E4C31")
        );
        assert_eq!(parse_ioreg_uuid("\"IOPlatformUUID\" = \"\"\n"), None);
        assert_eq!(parse_ioreg_uuid(""), None);
    }

    #[test]
    fn sw_vers() {
        let out = "ProductName:\t\tmacOS\nProductVersion:\t\t15.1\nBuildVersion:\t\t24B83\n";
        assert_eq!(parse_sw_vers(out).as_deref(), Some("macOS 15.1 (24B83)"));
        let old = "ProductName:\tMac OS X\nProductVersion:\t10.15.7\nBuildVersion:\t19H15\n";
        assert_eq!(
            parse_sw_vers(old).as_deref(),
            Some("Mac OS X 10.15.7 (19H15)")
        );
        assert_eq!(
            parse_sw_vers("ProductVersion: 26.0\n").as_deref(),
            Some("macOS 26.0")
        );
        assert_eq!(parse_sw_vers("garbage"), None);
    }

    #[test]
    fn machine_id() {
        assert_eq!(
            parse_machine_id("0123456789ABCDEF0123456789abcdef\n").as_deref(),
            Some("0123456789abcdef0123456789abcdef")
        );
        assert_eq!(parse_machine_id(""), None);
        assert_eq!(parse_machine_id("uninitialized\n"), None);
    }

    #[test]
    fn os_release() {
        let s = "NAME=\"Ubuntu\"\nVERSION_ID=\"24.04\"\nPRETTY_NAME=\"Ubuntu 24.04.1 LTS\"\n";
        assert_eq!(parse_os_release(s).as_deref(), Some("Ubuntu 24.04.1 LTS"));
        assert_eq!(
            parse_os_release("NAME=Alpine\nVERSION_ID=3.20\n").as_deref(),
            Some("Alpine 3.20")
        );
        assert_eq!(parse_os_release(""), None);
    }

    #[test]
    fn hostnames() {
        assert_eq!(
            parse_hostname("mac-a.local\n").as_deref(),
            Some("mac-a.local")
        );
        assert_eq!(parse_hostname("a:b,c\n").as_deref(), Some("a-b-c"));
        assert_eq!(parse_hostname("\n\n"), None);
    }

    #[test]
    fn the_local_host_is_detected_once_and_only_when_asked() {
        let known = HostInfo::named("lab-1");
        assert_eq!(LocalHost::known(known.clone()).get(), &known);
        let later = LocalHost::detect_later(Some("lab-2"));
        assert!(
            later.info.get().is_none(),
            "nothing detected before it is needed"
        );
        assert_eq!(later.get().name, "lab-2");
        assert!(later.get().name_chosen);
        assert!(later.info.get().is_some());
        assert!(check_name("mac-a").is_ok());
        assert!(check_name(" ").is_err());
        assert!(check_name("a,b").is_err());
        assert!(check_name("a:b").is_err());
    }

    #[test]
    fn detection_never_fails() {
        let h = detect(None);
        assert!(!h.name.is_empty());
        assert!(!h.name_chosen);
        let h = detect(Some("mac-z"));
        assert_eq!((h.name.as_str(), h.name_chosen), ("mac-z", true));
    }
}
