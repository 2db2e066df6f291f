//! Files and folders as pinbrev meets them on disk: input files that must be regular files
//! (a FIFO or a device would hang a read or never end), folders that must be owner-only
//! whatever the umask, and files opened without following a symbolic link someone put in
//! their place.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, Read, Write};
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// One line of an input file, as [`read_line`] read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    /// No more lines.
    End,
    /// A line of this many bytes (its newline included), in the buffer.
    Text(u64),
    /// A line of this many bytes, longer than allowed: skipped, the buffer left empty.
    TooLong(u64),
}

/// Reads the next line into `buf`, at most `max` bytes of it (and its newline); the rest of a
/// longer line is read past in the reader's own buffer, never held: a file of one line of
/// gigabytes is read in the memory of a short one.
pub fn read_line(reader: &mut impl BufRead, buf: &mut Vec<u8>, max: usize) -> io::Result<Line> {
    buf.clear();
    let n = reader
        .by_ref()
        .take(max as u64 + 1)
        .read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(Line::End);
    }
    if n <= max || buf.last() == Some(&b'\n') {
        return Ok(Line::Text(n as u64));
    }
    buf.clear();
    let mut bytes = n as u64;
    loop {
        let available = reader.fill_buf()?;
        if available.is_empty() {
            break;
        }
        let (used, ended) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        reader.consume(used);
        bytes += used as u64;
        if ended {
            break;
        }
    }
    Ok(Line::TooLong(bytes))
}

/// What a directory entry is, in words, when it is not a regular file.
pub fn not_regular_kind(file_type: &fs::FileType) -> Option<&'static str> {
    if file_type.is_file() {
        None
    } else if file_type.is_dir() {
        Some("a folder")
    } else if file_type.is_fifo() {
        Some("a FIFO (named pipe)")
    } else if file_type.is_char_device() {
        Some("a character device")
    } else if file_type.is_block_device() {
        Some("a block device")
    } else if file_type.is_socket() {
        Some("a socket")
    } else if file_type.is_symlink() {
        Some("a symbolic link")
    } else {
        Some("not a file")
    }
}

/// The error for an input that is not a regular file.
fn refused(kind: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("{kind}, not a regular file; refused without reading it"),
    )
}

fn symlink_refused() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "a symbolic link is in its place; refusing to follow it (remove the link)",
    )
}

/// Opens an input file for reading, refusing at once anything that is not a regular file.
/// The open itself never waits: a FIFO without a writer would otherwise block it forever.
pub fn open_input(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    let meta = file.metadata()?;
    if let Some(kind) = not_regular_kind(&meta.file_type()) {
        return Err(refused(kind));
    }
    // Reads of a regular file do not block anyway; clear the flag so that they behave as usual.
    // SAFETY: F_SETFL on a descriptor this function owns; no memory is involved.
    unsafe {
        let fd = std::os::unix::io::AsRawFd::as_raw_fd(&file);
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags >= 0 {
            libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
        }
    }
    Ok(file)
}

/// Reads a whole input file, refusing anything that is not a regular file.
pub fn read_input(path: &Path) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    io::Read::read_to_end(&mut open_input(path)?, &mut bytes)?;
    Ok(bytes)
}

/// [`read_input`] of a file of at most `max` bytes: a larger one is refused once `max` bytes
/// are read, not held whole.
pub fn read_input_up_to(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open_input(path)?.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("the file is larger than {max} bytes, more than such a file can be"),
        ));
    }
    Ok(bytes)
}

/// Creates a folder (and any missing parents) readable by its owner only, whatever the umask.
/// A folder that exists already is left as it is, except that the last one is checked to be a
/// folder.
pub fn create_private_dir(path: &Path) -> io::Result<()> {
    if path.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)?;
    // The umask may have taken bits away (even the owner's); set exactly owner-only.
    fs::set_permissions(path, fs::Permissions::from_mode(0o700))
}

/// A new file without a name under `TMPDIR` (`O_TMPFILE`, or made and unlinked at once where
/// the file system lacks it), for reading and writing, owner-only whatever the umask: no one
/// else can open it, and the kernel frees it when its last handle closes, which a process that
/// ends, however it ends, does. For data that waits on disk during one command.
pub fn unnamed_private_file() -> io::Result<File> {
    let file = tempfile::tempfile()?;
    // Made as the umask allows (0644 here).
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

/// Opens (creating it owner-only if needed) a file for writing without following a symbolic
/// link in its place and without blocking on a FIFO; refuses anything but a regular file.
pub fn open_private_nofollow(path: &Path) -> io::Result<File> {
    // Say what is in the way before trying (a FIFO would fail the open with a puzzling ENXIO);
    // the O_NOFOLLOW below still closes the race with a link put there in between.
    if let Ok(meta) = fs::symlink_metadata(path) {
        if meta.file_type().is_symlink() {
            return Err(symlink_refused());
        }
        if let Some(kind) = not_regular_kind(&meta.file_type()) {
            return Err(refused(kind));
        }
    }
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                symlink_refused()
            } else {
                e
            }
        })?;
    if let Some(kind) = not_regular_kind(&file.metadata()?.file_type()) {
        return Err(refused(kind));
    }
    Ok(file)
}

/// A file that could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot write {path}: the folder {folder} does not exist")]
    NoFolder { path: PathBuf, folder: PathBuf },
    #[error("cannot write {path}: it is a folder; name a file")]
    IsFolder { path: PathBuf },
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Writes a file an operator asked for (`report --out`, `letter proof --out`): readable by its
/// owner only (0600, whatever the umask) and atomically — the bytes go into a new hidden file
/// beside it, fsynced, then renamed over `path` — so a reader (a web server, a mail job) never
/// sees half a file, and an interrupted run leaves the previous one. A file already at `path` is replaced; a symbolic link there is
/// replaced too, never followed.
pub fn write_private_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write_private_atomic_with(path, |out| out.write_all(bytes))
}

/// [`write_private_atomic`] of what `write` writes, through a buffer, as it writes it: a
/// report of a million rows goes to its file without being held whole first. An error of
/// `write` leaves the previous file, and no new one.
pub fn write_private_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<(), WriteError> {
    let io = |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    };
    if fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
        return Err(WriteError::IsFolder {
            path: path.to_path_buf(),
        });
    }
    let name = path.file_name().ok_or_else(|| WriteError::IsFolder {
        path: path.to_path_buf(),
    })?;
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !folder.is_dir() {
        return Err(WriteError::NoFolder {
            path: path.to_path_buf(),
            folder,
        });
    }
    let tmp = folder.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    // A leftover of a run killed here with the same process id.
    let _ = fs::remove_file(&tmp);
    let written = (|| {
        let f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)?;
        // The umask may have taken bits away (even the owner's); set exactly owner-only.
        f.set_permissions(fs::Permissions::from_mode(0o600))?;
        let mut out = io::BufWriter::with_capacity(64 * 1024, f);
        write(&mut out)?;
        let f = out.into_inner().map_err(io::IntoInnerError::into_error)?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        File::open(&folder)?.sync_all()
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written.map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::BufReader;

    #[test]
    fn a_file_over_its_bound_is_refused_and_one_at_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"12345678").unwrap();
        assert_eq!(read_input_up_to(&path, 8).unwrap(), b"12345678");
        let err = read_input_up_to(&path, 7).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("larger than 7 bytes"), "{err}");
    }

    /// Every line as read: its bytes, or its length when too long.
    fn lines(input: &[u8], max: usize, reader_capacity: usize) -> Vec<Result<Vec<u8>, u64>> {
        let mut reader = BufReader::with_capacity(reader_capacity, input);
        let mut buf = Vec::new();
        let mut out = Vec::new();
        loop {
            match read_line(&mut reader, &mut buf, max).unwrap() {
                Line::End => return out,
                Line::Text(n) => {
                    assert_eq!(n as usize, buf.len());
                    out.push(Ok(buf.clone()));
                }
                Line::TooLong(n) => {
                    assert!(buf.is_empty());
                    out.push(Err(n));
                }
            }
        }
    }

    #[test]
    fn a_line_longer_than_allowed_is_skipped_whole_and_the_next_is_read() {
        let input = b"{\"a\":1}\n0123456789abcdef\n12345678\nlast";
        assert_eq!(
            lines(input, 8, 4),
            [
                Ok(b"{\"a\":1}\n".to_vec()),
                Err(17),
                Ok(b"12345678\n".to_vec()),
                Ok(b"last".to_vec())
            ]
        );
        // Too long at the end of the file, without a newline.
        assert_eq!(
            lines(b"ab\n0123456789", 8, 3),
            [Ok(b"ab\n".to_vec()), Err(10)]
        );
    }

    proptest! {
        #[test]
        fn lines_are_read_as_split_and_only_the_long_ones_skipped(
            input in proptest::collection::vec(prop_oneof![Just(b'\n'), any::<u8>()], 0..200),
            max in 1usize..20,
            capacity in 1usize..16,
        ) {
            let expected: Vec<Result<Vec<u8>, u64>> = input
                .split_inclusive(|b| *b == b'\n')
                .map(|line| {
                    let text = line.strip_suffix(b"\n").unwrap_or(line);
                    if text.len() <= max { Ok(line.to_vec()) } else { Err(line.len() as u64) }
                })
                .collect();
            prop_assert_eq!(lines(&input, max, capacity), expected);
        }
    }

    #[test]
    fn a_fifo_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("orders.csv");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = open_input(&fifo).unwrap_err();
        assert!(e.to_string().contains("FIFO"), "{e}");
        let e = open_private_nofollow(&fifo).unwrap_err();
        assert!(e.to_string().contains("FIFO"), "{e}");
        let e = open_input(dir.path()).unwrap_err();
        assert!(e.to_string().contains("a folder"), "{e}");
    }

    #[test]
    fn a_symlink_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        let link = dir.path().join("x.lock");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let e = open_private_nofollow(&link).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert!(!victim.exists());
    }

    #[test]
    fn private_dirs_ignore_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let made = dir.path().join("a/b");
        create_private_dir(&made).unwrap();
        let mode = fs::metadata(&made).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
    }

    #[test]
    fn an_atomic_write_is_owner_only_and_replaces_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("proof.pdf");
        fs::write(&f, b"an older, longer content").unwrap();
        fs::set_permissions(&f, fs::Permissions::from_mode(0o644)).unwrap();
        write_private_atomic(&f, b"new").unwrap();
        assert_eq!(fs::read(&f).unwrap(), b"new");
        assert_eq!(
            fs::metadata(&f).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let left: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "a temporary file was left");
        let e = write_private_atomic(&dir.path().join("none/x.pdf"), b"x").unwrap_err();
        assert!(matches!(e, WriteError::NoFolder { .. }), "{e}");
    }

    #[test]
    fn the_file_is_private_replaced_whole_and_no_link_is_followed() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("report.html");
        write_private_atomic(&out, b"first").unwrap();
        assert_eq!(fs::read(&out).unwrap(), b"first");
        let mode = fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        write_private_atomic(&out, b"second").unwrap();
        assert_eq!(fs::read(&out).unwrap(), b"second");

        let victim = dir.path().join("victim");
        fs::write(&victim, b"keep").unwrap();
        let link = dir.path().join("link.html");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        write_private_atomic(&link, b"page").unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
        assert!(!fs::symlink_metadata(&link).unwrap().is_symlink());
        assert_eq!(fs::read(&link).unwrap(), b"page");

        // Nothing left behind.
        let names: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");

        let e = write_private_atomic(&dir.path().join("no/such/r.html"), b"x").unwrap_err();
        assert!(e.to_string().contains("does not exist"), "{e}");
        let e = write_private_atomic(dir.path(), b"x").unwrap_err();
        assert!(e.to_string().contains("is a folder"), "{e}");
    }
}
