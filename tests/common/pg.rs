//! A throwaway PostgreSQL server for the tests: `initdb` and `pg_ctl` into a temporary folder,
//! listening on a Unix socket only (`listen_addresses=''`), one server per test binary and a
//! fresh database per test. Found on PATH, else in `/usr/lib/postgresql/*/bin`. Missing
//! binaries skip the test with a message, except when `CI` or `AGX_TRIAGE_REQUIRE_PG` is set:
//! then they fail it.
//!
//! `initdb` refuses to run as root: as root (CI containers) the server runs as the `postgres`
//! user (`runuser`), which owns the temporary folder. A watchdog shell stops the server and
//! removes the folder when the test process ends, however it ends (statics are never dropped).
// Test helper module: a failed unwrap here is a test failure, which is what a test wants.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

struct Server {
    /// The socket folder (also the server's folder root).
    socket_dir: PathBuf,
}

static SERVER: OnceLock<Option<Server>> = OnceLock::new();
static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

fn required() -> bool {
    std::env::var_os("CI").is_some() || std::env::var_os("AGX_TRIAGE_REQUIRE_PG").is_some()
}

/// The folder holding `initdb` and `pg_ctl`.
fn bin_dir() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for d in std::env::split_paths(&path) {
            if d.join("initdb").is_file() && d.join("pg_ctl").is_file() {
                return Some(d);
            }
        }
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin"))
        .filter(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
        .collect();
    // The newest major version (directory names are numbers).
    found.sort_by_key(|d| {
        d.parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0)
    });
    found.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A command run as the server's owner: ourselves, or `postgres` when we are root.
fn as_owner(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn start() -> Option<Server> {
    let Some(bin) = bin_dir() else {
        assert!(
            !required(),
            "PostgreSQL's initdb/pg_ctl not found (PATH, /usr/lib/postgresql/*/bin) and CI or \
             AGX_TRIAGE_REQUIRE_PG is set"
        );
        eprintln!("skipping: PostgreSQL (initdb, pg_ctl) is not installed");
        return None;
    };
    // A short path: a Unix socket path must stay under ~107 bytes.
    let root = tempfile::Builder::new()
        .prefix("agxpg")
        .tempdir_in("/tmp")
        .unwrap()
        .keep();
    if is_root() {
        let out = Command::new("chown")
            .args(["-R", "postgres:"])
            .arg(&root)
            .output()
            .unwrap();
        assert!(out.status.success(), "chown to postgres failed: {out:?}");
    }
    let data = root.join("data");
    let out = as_owner(&bin.join("initdb"))
        .arg("-D")
        .arg(&data)
        .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
        .args(["--locale", "C"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let opts = format!(
        "-c listen_addresses='' -k {} -c fsync=off -c max_connections=100",
        root.display()
    );
    let out = as_owner(&bin.join("pg_ctl"))
        .arg("-D")
        .arg(&data)
        .args(["-o", &opts, "-w", "-l"])
        .arg(root.join("log"))
        .arg("start")
        .stdout(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pg_ctl start failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(root.join("log")).unwrap_or_default()
    );
    // The watchdog: when this process is gone, stop the server and remove its folder.
    let owner = if is_root() {
        "runuser -u postgres -- "
    } else {
        ""
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
         {owner}'{pg_ctl}' -D '{data}' -m immediate stop >/dev/null 2>&1; rm -rf '{root}'",
        pid = std::process::id(),
        pg_ctl = bin.join("pg_ctl").display(),
        data = data.display(),
        root = root.display(),
    );
    // Not waited for: it outlives this process by design (its job starts when we are gone).
    #[allow(clippy::zombie_processes)]
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Some(Server { socket_dir: root })
}

/// `postgresql://` URL of database `db` on the test server.
fn url_of(server: &Server, db: &str) -> String {
    let host: String = server
        .socket_dir
        .to_string_lossy()
        .bytes()
        .map(|b| match b {
            b'/' => "%2F".to_string(),
            b => (b as char).to_string(),
        })
        .collect();
    format!("postgresql://postgres@{host}/{db}")
}

/// A fresh, empty database on this binary's test server, as a URL; `None` (after a message)
/// when PostgreSQL is not installed and not required.
pub fn fresh_db() -> Option<String> {
    create_db("")
}

/// Like [`fresh_db`], but the database collates text the way most servers do (ICU `en-US`:
/// "alpha" before "Zed", "XZ1" before "X_1"), not by bytes like the test server's `C`
/// default: answers must not depend on it.
pub fn fresh_db_en_us() -> Option<String> {
    create_db(" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'")
}

fn create_db(options: &str) -> Option<String> {
    let server = SERVER.get_or_init(start).as_ref()?;
    let name = format!(
        "t{}_{}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::SeqCst)
    );
    let mut admin = postgres::Client::connect(&url_of(server, "postgres"), postgres::NoTls)
        .expect("connect to the test server");
    admin
        .batch_execute(&format!("CREATE DATABASE {name}{options}"))
        .unwrap();
    Some(url_of(server, &name))
}

/// A plain client on `url` (for checks the binary does not offer).
pub fn client(url: &str) -> postgres::Client {
    postgres::Client::connect(url, postgres::NoTls).unwrap()
}
