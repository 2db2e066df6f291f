//! Test hooks of the crash-recovery tests: `PINBREV_FAILPOINT=<name>` names the point where the
//! process stops or waits. Without it, nothing happens.

/// Aborts the process here, as a crash would, when `PINBREV_FAILPOINT` names this point.
pub(crate) fn failpoint(name: &str) {
    if failpoint_set(name) {
        eprintln!("failpoint {name}: aborting");
        std::process::abort();
    }
}

/// Whether `PINBREV_FAILPOINT` names this point.
pub(crate) fn failpoint_set(name: &str) -> bool {
    std::env::var("PINBREV_FAILPOINT").is_ok_and(|v| v == name)
}
