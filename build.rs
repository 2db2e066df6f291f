//! Build script: records the commit pinbrev is built from, for `pinbrev --version`.

use std::path::Path;
use std::process::Command;

fn main() {
    let commit = git(&["rev-parse", "--short=12", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=PINBREV_COMMIT={commit}");
    // Built again when the commit changes. The places come from git: in a worktree `.git` is a
    // file, and its HEAD lives elsewhere (a build there, sharing `target/`, otherwise left its
    // commit in later builds of the main checkout). A missing path would rebuild every time.
    let git_dir = git(&["rev-parse", "--git-dir"]);
    let common_dir = git(&["rev-parse", "--git-common-dir"]);
    let watched = [
        git_dir.as_ref().map(|d| Path::new(d).join("HEAD")),
        common_dir.as_ref().map(|d| Path::new(d).join("refs/heads")),
        common_dir
            .as_ref()
            .map(|d| Path::new(d).join("packed-refs")),
    ];
    for path in watched.into_iter().flatten() {
        if path.exists() {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    // The migrations are embedded (`sqlx::migrate!`): a new one builds the binary again.
    println!("cargo:rerun-if-changed=sql");
    println!("cargo:rerun-if-changed=build.rs");
}

/// What `git ARGS` prints, trimmed; `None` without git, outside a repository, or if empty.
fn git(args: &[&str]) -> Option<String> {
    Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|out| !out.is_empty())
}
