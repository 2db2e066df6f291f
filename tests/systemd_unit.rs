//! The systemd units in `deploy/` (the nightly service, its timer and the alert unit it names in
//! `OnFailure=`), checked with the real `systemd-analyze` and without a running systemd (this runs
//! in containers whose PID 1 is not systemd):
//! - `systemd-analyze verify` passes on the units, with no warning about them;
//! - `systemd-analyze security --offline=yes` rates the shipped service at an exposure of 3.0 or
//!   less;
//! - the hardening directives the issue asks for are in the service file;
//! - the service's own command line and environment, with the paths moved into a temporary
//!   folder, run a night that takes its PIN key from the credential (`%d/pin.key`).
//!
//! A missing `systemd-analyze` fails the tests and names the Debian package to install
//! (`systemd`); it is never a silent skip.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const DEPLOY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy");
const SERVICE: &str = "pinbrev-nightly.service";
const TIMER: &str = "pinbrev-nightly.timer";
const ALERT: &str = "pinbrev-alert@.service";
/// Where the units expect the binary; the copies given to `verify` point at the test build.
const INSTALLED_BIN: &str = "/usr/local/bin/pinbrev";
/// The highest exposure `systemd-analyze security` may give the service.
const MAX_EXPOSURE: f64 = 3.0;
/// The same as `--threshold` (which counts in tenths: 30 is an exposure of 3.0).
const THRESHOLD: &str = "--threshold=30";
/// `security --offline` came with systemd 250.
const MIN_SYSTEMD: u32 = 250;

fn deploy(file: &str) -> PathBuf {
    Path::new(DEPLOY).join(file)
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Runs `systemd-analyze`; fails (never skips) with the Debian package when it is missing.
fn systemd_analyze(args: &[&str]) -> Output {
    match Command::new("systemd-analyze")
        .args(args)
        .env("SYSTEMD_PAGER", "")
        .env("SYSTEMD_COLORS", "0")
        .output()
    {
        Ok(out) => out,
        Err(e) => panic!(
            "cannot run `systemd-analyze` ({e}); install the Debian package systemd \
             (apt-get install -y systemd; `make test` does it in its deps target)"
        ),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The version `systemd-analyze --version` reports, failing if it is older than `MIN_SYSTEMD`.
fn require_systemd_version() -> u32 {
    let out = systemd_analyze(&["--version"]);
    let stdout = text(&out.stdout);
    let version = stdout
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("systemd "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or_else(|| {
            panic!("cannot read the version from `systemd-analyze --version`: {stdout:?}")
        });
    assert!(
        version >= MIN_SYSTEMD,
        "systemd {version} is too old: `systemd-analyze security --offline` needs systemd {MIN_SYSTEMD} \
         or later (Debian 12 has 252; install the Debian package systemd from a newer release)"
    );
    version
}

/// One `Key=value` of a unit file, with the section it is in and its line number.
#[derive(Debug)]
struct Directive {
    section: String,
    key: String,
    value: String,
    line: usize,
}

/// The directives of a unit file, as systemd reads them: comments (`#`, `;`) and blank lines
/// skipped, a line ending in `\` continued on the next.
fn parse_unit(text: &str) -> Vec<Directive> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut pending: Option<(String, usize)> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if pending.is_none() && (line.is_empty() || line.starts_with('#') || line.starts_with(';'))
        {
            continue;
        }
        let (mut joined, start) = match pending.take() {
            Some((before, start)) => (format!("{before} {line}"), start),
            None => (line.to_string(), i + 1),
        };
        if let Some(head) = joined.strip_suffix('\\') {
            pending = Some((head.trim_end().to_string(), start));
            continue;
        }
        joined = joined.trim().to_string();
        if let Some(name) = joined.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            section = name.to_string();
        } else if let Some((key, value)) = joined.split_once('=') {
            out.push(Directive {
                section: section.clone(),
                key: key.trim().to_string(),
                value: value.trim().to_string(),
                line: start,
            });
        } else {
            panic!("line {start} is neither a section nor Key=value: {joined:?}");
        }
    }
    assert!(
        pending.is_none(),
        "the unit file ends inside a continued line"
    );
    out
}

/// Every value of `key` in `section`, in order.
fn values<'a>(unit: &'a [Directive], section: &str, key: &str) -> Vec<&'a str> {
    unit.iter()
        .filter(|d| d.section == section && d.key == key)
        .map(|d| d.value.as_str())
        .collect()
}

fn is_yes(v: &str) -> bool {
    matches!(v.to_ascii_lowercase().as_str(), "yes" | "true" | "on" | "1")
}

/// A systemd time span (`6h`, `90min`, `1h 30min`, `21600`) in seconds; `None` for `infinity`
/// or anything else this small reader does not know.
fn seconds(span: &str) -> Option<u64> {
    if span.trim().eq_ignore_ascii_case("infinity") {
        return None;
    }
    let mut total = 0u64;
    for word in span.split_whitespace() {
        let digits = word
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(word.len());
        let n: u64 = word[..digits].parse().ok()?;
        let unit = match &word[digits..] {
            "" | "s" | "sec" | "second" | "seconds" => 1,
            "m" | "min" | "minute" | "minutes" => 60,
            "h" | "hr" | "hour" | "hours" => 3600,
            "d" | "day" | "days" => 86_400,
            _ => return None,
        };
        total += n * unit;
    }
    Some(total)
}

/// Copies the three units into `dir`, the service's `ExecStart=` pointed at the test build of
/// pinbrev (`verify` checks that the binary exists); returns their paths.
fn units_for_verify(dir: &Path) -> Vec<PathBuf> {
    let bin = env!("CARGO_BIN_EXE_pinbrev");
    assert!(
        !bin.contains(char::is_whitespace),
        "the test binary's path {bin:?} has white space, which ExecStart= would split"
    );
    let mut paths = Vec::new();
    for name in [SERVICE, TIMER, ALERT] {
        let mut unit = read(&deploy(name));
        if name == SERVICE {
            assert!(
                unit.contains(INSTALLED_BIN),
                "{SERVICE} no longer runs {INSTALLED_BIN}; update this test"
            );
            unit = unit.replace(INSTALLED_BIN, bin);
        }
        let path = dir.join(name);
        fs::write(&path, unit).unwrap();
        paths.push(path);
    }
    paths
}

/// The lines of `verify`'s stderr that are about the given units. The only lines left out are
/// those about the host's own unit files (`verify` also loads the units ours depend on, such as
/// timers.target, from /lib/systemd and /etc/systemd, and a distribution's unit with an outdated
/// directive would otherwise fail this test for reasons not ours); they are printed, not hidden.
fn warnings_about_units(stderr: &str) -> Vec<String> {
    let host_unit = |l: &str| {
        [
            "/lib/systemd/",
            "/usr/lib/systemd/",
            "/etc/systemd/",
            "/run/systemd/",
        ]
        .iter()
        .any(|p| l.starts_with(p))
            && !l.contains("pinbrev")
    };
    let mut ours = Vec::new();
    for line in stderr.lines().filter(|l| !l.trim().is_empty()) {
        if host_unit(line) {
            eprintln!("ignored (about a unit of the host, not ours): {line}");
        } else {
            ours.push(line.to_string());
        }
    }
    ours
}

fn verify(paths: &[PathBuf]) -> Output {
    let mut args = vec!["verify", "--man=no", "--generators=no"];
    args.extend(paths.iter().map(|p| p.to_str().expect("UTF-8 path")));
    systemd_analyze(&args)
}

#[test]
fn verify_passes_without_warnings() {
    require_systemd_version();
    let dir = tempfile::tempdir().unwrap();
    let paths = units_for_verify(dir.path());
    let out = verify(&paths);
    let stderr = text(&out.stderr);
    assert!(
        out.status.success(),
        "systemd-analyze verify failed ({}):\n{stderr}{}",
        out.status,
        text(&out.stdout)
    );
    let warnings = warnings_about_units(&stderr);
    assert!(
        warnings.is_empty(),
        "systemd-analyze verify warns about the units:\n{}",
        warnings.join("\n")
    );
}

/// `verify` exits 0 even on an unknown directive, so the test above relies on reading stderr:
/// this makes sure such a warning is seen (and not filtered away as the host's).
#[test]
fn verify_warnings_are_caught() {
    require_systemd_version();
    let dir = tempfile::tempdir().unwrap();
    let paths = units_for_verify(dir.path());
    let service = &paths[0];
    let broken = format!("{}ProtectSytem=strict\n", read(service));
    fs::write(service, broken).unwrap();
    let out = verify(&paths);
    let warnings = warnings_about_units(&text(&out.stderr));
    assert!(
        warnings.iter().any(|w| w.contains("ProtectSytem")),
        "a misspelt directive went unnoticed; verify said: {warnings:?}"
    );
}

/// The figure in "→ Overall exposure level for pinbrev-nightly.service: 0.2 SAFE 😀".
fn overall_exposure(stdout: &str) -> Option<f64> {
    let line = stdout
        .lines()
        .find(|l| l.contains("Overall exposure level"))?;
    let (_, rest) = line.rsplit_once(": ")?;
    rest.split_whitespace().next()?.parse().ok()
}

#[test]
fn exposure_is_at_most_3() {
    require_systemd_version();
    // The shipped file itself, unchanged: `security --offline` does not need the binary.
    let service = deploy(SERVICE);
    let path = service.to_str().expect("UTF-8 path");
    let out = systemd_analyze(&["security", "--offline=yes", THRESHOLD, "--no-pager", path]);
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    let exposure = overall_exposure(&stdout).unwrap_or_else(|| {
        panic!("no \"Overall exposure level\" in systemd-analyze security's output ({}):\n{stdout}{stderr}", out.status)
    });
    eprintln!("systemd-analyze security --offline=yes {SERVICE}: exposure {exposure}");
    // The directives still counted against the unit, to say what to fix (marked `✗`, or `-`
    // outside a UTF-8 locale).
    let exposed: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with('✗') || l.starts_with("- "))
        .collect();
    assert!(
        exposure <= MAX_EXPOSURE,
        "{SERVICE}: exposure {exposure} is above {MAX_EXPOSURE:.1}; still exposed:\n{}",
        exposed.join("\n")
    );
    assert!(
        out.status.success(),
        "systemd-analyze security {THRESHOLD} failed ({}) at exposure {exposure}:\n{stderr}",
        out.status
    );
    // And the threshold really is applied: below the figure, the same check fails.
    if exposure > 0.0 {
        let strict = systemd_analyze(&["security", "--offline=yes", "--threshold=0", path]);
        assert!(
            !strict.status.success(),
            "systemd-analyze security ignored --threshold=0 at exposure {exposure}"
        );
    }
}

#[test]
fn service_has_the_hardening_directives() {
    let unit = parse_unit(&read(&deploy(SERVICE)));
    let mut missing: Vec<String> = Vec::new();
    let mut expect = |section: &str, key: &str, ok: &dyn Fn(&[&str]) -> bool, what: &str| {
        if !ok(&values(&unit, section, key)) {
            let found: Vec<String> = unit
                .iter()
                .filter(|d| d.section == section && d.key == key)
                .map(|d| format!("line {}: {key}={}", d.line, d.value))
                .collect();
            let found = if found.is_empty() {
                "nothing".to_string()
            } else {
                found.join("; ")
            };
            missing.push(format!("[{section}] {key}: want {what}, found {found}"));
        }
    };
    let last_is = |want: &'static str| move |v: &[&str]| v.last() == Some(&want);
    let last_yes = |v: &[&str]| v.last().is_some_and(|v| is_yes(v));

    expect(
        "Unit",
        "OnFailure",
        &|v| v.contains(&"pinbrev-alert@%n.service"),
        "pinbrev-alert@%n.service",
    );
    expect("Service", "User", &last_is("pinbrev"), "pinbrev");
    expect("Service", "StateDirectory", &last_is("pinbrev"), "pinbrev");
    expect("Service", "StateDirectoryMode", &last_is("0700"), "0700");
    expect(
        "Service",
        "WorkingDirectory",
        &last_is("/var/lib/pinbrev"),
        "/var/lib/pinbrev",
    );
    expect(
        "Service",
        "LoadCredential",
        &|v| v.contains(&"pin.key:/etc/pinbrev/pin.key"),
        "pin.key:/etc/pinbrev/pin.key",
    );
    let env_has = |want: &'static str| {
        move |v: &[&str]| v.iter().any(|e| e.split_whitespace().any(|kv| kv == want))
    };
    expect(
        "Service",
        "Environment",
        &env_has("PINBREV_PIN_KEY_FILE=%d/pin.key"),
        "PINBREV_PIN_KEY_FILE=%d/pin.key",
    );
    expect(
        "Service",
        "Environment",
        &env_has("PINBREV_DB=sqlite:///var/lib/pinbrev/pinbrev.db"),
        "PINBREV_DB=sqlite:///var/lib/pinbrev/pinbrev.db (the database in the state directory)",
    );
    // A finite start timeout, shorter than a day, so that a hung night cannot block the next.
    expect(
        "Service",
        "TimeoutStartSec",
        &|v| {
            v.last()
                .and_then(|s| seconds(s))
                .is_some_and(|s| s > 0 && s < 86_400)
        },
        "a finite time under 24h",
    );
    expect("Service", "PrivateNetwork", &last_yes, "yes");
    // Set, and empty: no capabilities at all.
    expect(
        "Service",
        "CapabilityBoundingSet",
        &|v| v.last() == Some(&""),
        "an empty value",
    );
    expect(
        "Service",
        "SystemCallFilter",
        &|v| {
            v.iter()
                .any(|f| f.split_whitespace().any(|s| s == "@system-service"))
        },
        "@system-service",
    );
    expect(
        "Service",
        "SystemCallFilter",
        &|v| {
            let denied: Vec<&str> = v
                .iter()
                .filter_map(|f| f.strip_prefix('~'))
                .flat_map(str::split_whitespace)
                .collect();
            denied.contains(&"@privileged") && denied.contains(&"@resources")
        },
        "~@privileged @resources",
    );
    expect(
        "Service",
        "SystemCallArchitectures",
        &last_is("native"),
        "native",
    );
    expect(
        "Service",
        "RestrictAddressFamilies",
        &|v| {
            !v.is_empty()
                && v.iter()
                    .flat_map(|f| f.split_whitespace())
                    .all(|f| f == "AF_UNIX" || f == "none")
        },
        "AF_UNIX or none (no network families with PrivateNetwork=yes)",
    );
    for key in [
        "ProtectKernelTunables",
        "ProtectKernelModules",
        "ProtectKernelLogs",
        "ProtectControlGroups",
        "ProtectClock",
        "ProtectHostname",
        "PrivateDevices",
        "PrivateTmp",
        "PrivateUsers",
        "ProtectHome",
        "NoNewPrivileges",
        "LockPersonality",
        "MemoryDenyWriteExecute",
        "RestrictNamespaces",
        "RestrictRealtime",
        "RestrictSUIDSGID",
        "RemoveIPC",
    ] {
        expect("Service", key, &last_yes, "yes");
    }
    expect("Service", "ProtectSystem", &last_is("strict"), "strict");
    expect("Service", "ProtectProc", &last_is("invisible"), "invisible");
    expect("Service", "ProcSubset", &last_is("pid"), "pid");
    expect("Service", "DevicePolicy", &last_is("closed"), "closed");
    expect("Service", "IPAddressDeny", &last_is("any"), "any");
    expect("Service", "UMask", &last_is("0077"), "0077");
    expect(
        "Service",
        "ReadWritePaths",
        &|v| {
            let paths: Vec<&str> = v.iter().flat_map(|p| p.split_whitespace()).collect();
            [
                "/srv/pinbrev/inbox",
                "/srv/pinbrev/outbox",
                "/srv/pinbrev/receipts",
            ]
            .iter()
            .all(|want| paths.contains(want))
        },
        "the inbox, outbox and receipts under /srv/pinbrev",
    );
    assert!(
        missing.is_empty(),
        "{SERVICE} lacks:\n{}",
        missing.join("\n")
    );

    // The alert unit OnFailure= names is shipped beside it, and says which unit failed.
    let alert = parse_unit(&read(&deploy(ALERT)));
    let exec = values(&alert, "Service", "ExecStart");
    assert!(
        exec.iter().any(|e| e.contains("%i")),
        "{ALERT}'s ExecStart= should name the failed unit (%i): {exec:?}"
    );
}

/// The service's `ExecStart=` and `Environment=` run as systemd would (a clean environment, the
/// working directory, `%d` the credentials folder), with its folders moved into a temporary one:
/// the night takes the PIN key from the credential, not from the settings file.
#[test]
fn the_unit_command_reads_the_key_from_the_credential() {
    let unit = parse_unit(&read(&deploy(SERVICE)));
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let moved = |p: &str| {
        let moves = [
            (INSTALLED_BIN, env!("CARGO_BIN_EXE_pinbrev").to_string()),
            ("/var/lib/pinbrev", root.join("state").display().to_string()),
            ("/srv/pinbrev", root.join("srv").display().to_string()),
            ("/etc/pinbrev", root.join("etc").display().to_string()),
            ("%d", root.join("credentials").display().to_string()),
        ];
        moves
            .iter()
            .fold(p.to_string(), |acc, (from, to)| acc.replace(from, to))
    };
    for d in [
        "state",
        "srv/inbox",
        "srv/outbox",
        "srv/receipts",
        "etc",
        "credentials",
    ] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    // The settings file names a key that is not there: only the credential can supply one.
    fs::write(
        root.join("etc/pinbrev.toml"),
        "pin_key_file = \"/nonexistent/pin.key\"\n",
    )
    .unwrap();

    let exec = values(&unit, "Service", "ExecStart");
    let [exec] = exec.as_slice() else {
        panic!("{SERVICE} should have one ExecStart=: {exec:?}");
    };
    assert!(
        !exec.contains(['"', '\'']),
        "this test splits ExecStart= on spaces only: {exec}"
    );
    let argv: Vec<String> = exec.split_whitespace().map(moved).collect();
    let mut env: Vec<(String, String)> = Vec::new();
    for e in values(&unit, "Service", "Environment") {
        assert!(
            !e.contains(['"', '\'']),
            "this test splits Environment= on spaces only: {e}"
        );
        for kv in e.split_whitespace() {
            let (k, v) = kv.split_once('=').expect("VAR=value");
            env.push((k.to_string(), moved(v)));
        }
    }
    let workdir = values(&unit, "Service", "WorkingDirectory");
    let workdir = moved(workdir.last().expect("WorkingDirectory="));
    let run = || {
        Command::new(&argv[0])
            .args(&argv[1..])
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .current_dir(&workdir)
            .output()
            .unwrap()
    };

    // No credential: the night stops, naming the credential's path.
    let out = run();
    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "without the credential: {stderr}"
    );
    let credential = root.join("credentials/pin.key");
    assert!(
        stderr.contains(&credential.display().to_string()),
        "the error should name {}: {stderr}",
        credential.display()
    );

    // With it (hex text, as the install instructions make it): the night runs.
    fs::write(&credential, format!("{}\n", "0123456789abcdef".repeat(4))).unwrap();
    let out = run();
    assert!(
        out.status.success(),
        "the unit's command failed ({}): {}",
        out.status,
        text(&out.stderr)
    );
    assert!(
        root.join("state/pinbrev.db").is_file(),
        "the database should be in the state directory"
    );
}
