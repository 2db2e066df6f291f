//! Build script: records the commit pinbrev is built from, for `pinbrev --version`.

use std::path::Path;
use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=PINBREV_COMMIT={commit}");
    // Built again when the commit changes (a missing path would rebuild every time).
    for path in [".git/HEAD", ".git/refs/heads", ".git/packed-refs"] {
        if Path::new(path).exists() {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    // The migrations are embedded (`sqlx::migrate!`): a new one builds the binary again.
    println!("cargo:rerun-if-changed=sql");
    println!("cargo:rerun-if-changed=build.rs");
}
