//! Sorting more keys than a step should hold in memory: the keys are sorted a run at a time,
//! each full run written to an owner-only file of its own, and the runs merged as they are read
//! back.
//!
//! `batch create` sorts one key per letter of the night (its place in the drop), which held
//! together in memory grew with the night. With runs of [`RUN_KEYS`], what the sort holds is
//! one run (and a read buffer per run written) however large the night.
//!
//! A sort's runs go to named files in a folder of the caller's ([`ExternalSort::in_folder`],
//! which the caller cleans up after a crash), or to files without a name under `TMPDIR`
//! ([`ExternalSort::in_unnamed_files`]), which the kernel frees when the process ends, even
//! after `kill -9`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::files::{open_private_nofollow, unnamed_private_file};

/// Keys sorted in memory at a time when runs go to files: about 7 MB of a batch's keys.
pub const RUN_KEYS: usize = 100_000;

/// Bytes buffered per run file, written or read.
const BUFFER: usize = 64 * 1024;

/// A run file that could not be written or read back.
#[derive(Debug, thiserror::Error)]
#[error("cannot write or read back the sort file {path}: {source}")]
pub struct SortError {
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

/// Run files, removed when dropped (the sort is over, or failed).
#[derive(Debug, Default)]
struct RunFiles(Vec<PathBuf>);

impl Drop for RunFiles {
    fn drop(&mut self) {
        for path in &self.0 {
            if let Err(e) = fs::remove_file(path) {
                if e.kind() != io::ErrorKind::NotFound {
                    tracing::warn!(file = %path.display(), error = %e, "could not remove a sort's run file");
                }
            }
        }
    }
}

/// Where a sort writes its full runs.
#[derive(Debug)]
enum Folder {
    /// Nowhere: every key stays in memory.
    Memory,
    /// A folder of the caller's.
    Given(PathBuf),
    /// Files of its own under `TMPDIR` that have no name (`O_TMPFILE`, or made and unlinked at
    /// once where the file system lacks it): no one else can open them, and the kernel frees
    /// them when the sort closes them or the process ends, however it ends. `name` stands for
    /// them in errors.
    Unnamed {
        name: &'static str,
        files: Vec<File>,
    },
}

/// Bytes of keys a run holds at most, however few keys it has: the keys come from input files,
/// whose rows can be long (a receipts file's fields are kept up to 16 KiB each).
pub const RUN_BYTES: usize = 32 * 1024 * 1024;

/// Text keys to be sorted, pushed one at a time.
#[derive(Debug)]
pub struct ExternalSort {
    folder: Folder,
    run_keys: usize,
    /// Bytes of keys after which a run is written, whatever its number of keys.
    run_bytes: usize,
    run: Vec<String>,
    /// Bytes of the keys in `run`.
    held: usize,
    files: RunFiles,
    count: usize,
}

impl ExternalSort {
    /// A sort that keeps every key in memory.
    pub fn in_memory() -> ExternalSort {
        ExternalSort {
            folder: Folder::Memory,
            run_keys: usize::MAX,
            run_bytes: usize::MAX,
            run: Vec::new(),
            held: 0,
            files: RunFiles::default(),
            count: 0,
        }
    }

    /// A sort that writes each run of `run_keys` keys (at least one, and at most [`RUN_BYTES`]
    /// bytes of keys), sorted, to a new file in `folder`, an owner-only folder of the caller's that no one else writes in.
    pub fn in_folder(folder: &Path, run_keys: usize) -> ExternalSort {
        ExternalSort {
            folder: Folder::Given(folder.to_path_buf()),
            run_keys: run_keys.max(1),
            run_bytes: RUN_BYTES,
            ..ExternalSort::in_memory()
        }
    }

    /// A sort that writes each run of `run_keys` keys (at least one, and at most [`RUN_BYTES`]
    /// bytes of keys), sorted, to a new file without a name under `TMPDIR`, readable by this process alone and freed by the kernel
    /// when the sort is over or the process ends, even if killed: nothing the sort wrote can
    /// be left behind. Errors name such a run `TMPDIR/{name}run-NNNNN (unnamed)`.
    pub fn in_unnamed_files(name: &'static str, run_keys: usize) -> ExternalSort {
        ExternalSort {
            folder: Folder::Unnamed {
                name,
                files: Vec::new(),
            },
            run_keys: run_keys.max(1),
            run_bytes: RUN_BYTES,
            ..ExternalSort::in_memory()
        }
    }

    /// Runs written so far.
    pub fn runs(&self) -> usize {
        match &self.folder {
            Folder::Memory => 0,
            Folder::Given(_) => self.files.0.len(),
            Folder::Unnamed { files, .. } => files.len(),
        }
    }

    /// The unnamed files of the runs written so far (none for a sort in a folder).
    #[cfg(test)]
    fn unnamed_files(&self) -> &[File] {
        match &self.folder {
            Folder::Unnamed { files, .. } => files,
            _ => &[],
        }
    }

    /// Keys pushed so far.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether no key was pushed.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Adds a key; a full run is sorted and written to its file.
    pub fn push(&mut self, key: String) -> Result<(), SortError> {
        self.held += key.len();
        self.run.push(key);
        self.count += 1;
        if self.run.len() >= self.run_keys || self.held >= self.run_bytes {
            self.spill()?;
        }
        Ok(())
    }

    /// The same sort with runs of at most `bytes` bytes of keys.
    #[cfg(test)]
    fn with_run_bytes(self, bytes: usize) -> ExternalSort {
        ExternalSort {
            run_bytes: bytes,
            ..self
        }
    }

    fn spill(&mut self) -> Result<(), SortError> {
        let number = self.runs() + 1;
        let path = match &self.folder {
            Folder::Memory => return Ok(()),
            Folder::Given(folder) => folder.join(format!("run-{number:05}")),
            Folder::Unnamed { name, .. } => unnamed_path(name, number),
        };
        self.run.sort_unstable();
        let failed = |source| SortError {
            path: path.clone(),
            source,
        };
        let file = match &mut self.folder {
            Folder::Memory => return Ok(()),
            Folder::Given(_) => {
                let file = open_private_nofollow(&path).map_err(failed)?;
                self.files.0.push(path.clone());
                // A file of the same name left by a killed run would otherwise keep its tail.
                file.set_len(0).map_err(failed)?;
                file
            }
            Folder::Unnamed { files, .. } => {
                let file = unnamed_private_file().map_err(failed)?;
                files.push(file.try_clone().map_err(failed)?);
                file
            }
        };
        let mut out = BufWriter::with_capacity(BUFFER, file);
        self.held = 0;
        for key in self.run.drain(..) {
            let len = u32::try_from(key.len()).map_err(|e| failed(io::Error::other(e)))?;
            out.write_all(&len.to_le_bytes())
                .and_then(|()| out.write_all(key.as_bytes()))
                .map_err(failed)?;
        }
        out.flush().map_err(failed)?;
        Ok(())
    }

    /// Every key pushed, in order (byte order of the texts).
    pub fn finish(mut self) -> Result<SortedKeys, SortError> {
        self.run.sort_unstable();
        let memory = std::mem::take(&mut self.run).into_iter();
        let files = std::mem::take(&mut self.files);
        let mut sorted = SortedKeys {
            memory,
            runs: Vec::with_capacity(self.runs()),
            heap: BinaryHeap::new(),
            _files: RunFiles::default(),
        };
        for path in &files.0 {
            let file = File::open(path).map_err(|source| SortError {
                path: path.clone(),
                source,
            })?;
            sorted.runs.push(Run {
                path: path.clone(),
                reader: BufReader::with_capacity(BUFFER, file),
            });
        }
        sorted._files = files;
        if let Folder::Unnamed { name, files } = &mut self.folder {
            for (number, mut file) in std::mem::take(files).into_iter().enumerate() {
                let path = unnamed_path(name, number + 1);
                file.rewind().map_err(|source| SortError {
                    path: path.clone(),
                    source,
                })?;
                sorted.runs.push(Run {
                    path,
                    reader: BufReader::with_capacity(BUFFER, file),
                });
            }
        }
        if !sorted.runs.is_empty() {
            for source in 0..=sorted.runs.len() {
                if let Some(key) = sorted.next_of(source)? {
                    sorted.heap.push(Reverse((key, source)));
                }
            }
        }
        Ok(sorted)
    }
}

/// How errors name the `number`th unnamed run of a sort named `name`.
fn unnamed_path(name: &str, number: usize) -> PathBuf {
    std::env::temp_dir().join(format!("{name}run-{number:05} (unnamed)"))
}

/// A run file being read back.
struct Run {
    path: PathBuf,
    reader: BufReader<File>,
}

impl Run {
    /// The run's next key; `None` at its end.
    fn next(&mut self) -> Result<Option<String>, SortError> {
        let failed = |source| SortError {
            path: self.path.clone(),
            source,
        };
        let mut len = [0u8; 4];
        // The end of the file between two keys is the run's end; anywhere else it is damage.
        match self.reader.read(&mut len[..1]).map_err(failed)? {
            0 => return Ok(None),
            _ => self.reader.read_exact(&mut len[1..]).map_err(failed)?,
        }
        let mut key = vec![0u8; u32::from_le_bytes(len) as usize];
        self.reader.read_exact(&mut key).map_err(failed)?;
        String::from_utf8(key)
            .map(Some)
            .map_err(|e| failed(io::Error::new(io::ErrorKind::InvalidData, e)))
    }
}

/// The keys of an [`ExternalSort`] in order: the run kept in memory merged with the runs
/// written. Its run files are removed (or, unnamed, closed and freed) when it is dropped.
pub struct SortedKeys {
    memory: std::vec::IntoIter<String>,
    runs: Vec<Run>,
    /// The next key of each source (0 the memory, then the run files), smallest on top.
    heap: BinaryHeap<Reverse<(String, usize)>>,
    _files: RunFiles,
}

impl SortedKeys {
    fn next_of(&mut self, source: usize) -> Result<Option<String>, SortError> {
        match source {
            0 => Ok(self.memory.next()),
            run => self.runs[run - 1].next(),
        }
    }
}

impl Iterator for SortedKeys {
    type Item = Result<String, SortError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.runs.is_empty() {
            return self.memory.next().map(Ok);
        }
        let Reverse((key, source)) = self.heap.pop()?;
        match self.next_of(source) {
            Ok(Some(next)) => self.heap.push(Reverse((next, source))),
            Ok(None) => {}
            Err(e) => {
                // Nothing after a run that cannot be read is in order any more.
                self.heap.clear();
                return Some(Err(e));
            }
        }
        Some(Ok(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::create_private_dir;
    use proptest::prelude::*;
    use std::os::unix::fs::PermissionsExt;

    fn folder() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("sort");
        create_private_dir(&folder).unwrap();
        (dir, folder)
    }

    fn sorted(sort: ExternalSort) -> Vec<String> {
        sort.finish()
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap()
    }

    fn files_in(folder: &Path) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = fs::read_dir(folder)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files
    }

    #[test]
    fn keys_come_back_in_order_across_runs_and_the_run_files_go_when_done() {
        let (_dir, folder) = folder();
        let mut sort = ExternalSort::in_folder(&folder, 3);
        let keys = ["m", "b\0x", "z", "a", "b", "", "yy", "c\u{e6}", "b\0"];
        for key in keys {
            sort.push(key.to_string()).unwrap();
        }
        assert_eq!(sort.len(), keys.len());
        let files = files_in(&folder);
        assert_eq!(
            files,
            vec![
                folder.join("run-00001"),
                folder.join("run-00002"),
                folder.join("run-00003")
            ],
            "three full runs written, none kept back"
        );
        for file in &files {
            assert_eq!(
                fs::metadata(file).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let mut expected: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        expected.sort();
        assert_eq!(sorted(sort), expected);
        assert!(files_in(&folder).is_empty(), "the run files are removed");
    }

    #[test]
    fn a_run_of_long_keys_is_written_before_it_has_its_number_of_keys() {
        let mut sort =
            ExternalSort::in_unnamed_files("pinbrev-test-sort-", 1000).with_run_bytes(25);
        let keys: Vec<String> = (0..12)
            .rev()
            .map(|i| format!("{i:02}{}", "x".repeat(8)))
            .collect();
        for key in &keys {
            sort.push(key.clone()).unwrap();
        }
        // Three keys of 10 bytes reach 25 bytes: four runs of three.
        assert_eq!(sort.runs(), 4);
        let mut expected = keys.clone();
        expected.sort();
        assert_eq!(sorted(sort), expected);
    }

    #[test]
    fn unnamed_runs_have_no_name_to_be_left_behind_under_and_are_owner_only() {
        use std::os::unix::fs::MetadataExt;
        let mut small = ExternalSort::in_unnamed_files("pinbrev-test-sort-", 3);
        for key in ["b", "a"] {
            small.push(key.to_string()).unwrap();
        }
        assert_eq!(small.runs(), 0, "no run written");
        assert_eq!(sorted(small), ["a", "b"]);

        let mut sort = ExternalSort::in_unnamed_files("pinbrev-test-sort-", 2);
        for key in ["d", "c", "b", "a", "e"] {
            sort.push(key.to_string()).unwrap();
        }
        assert_eq!(sort.runs(), 2);
        for file in sort.unnamed_files() {
            let meta = file.metadata().unwrap();
            // No link in any folder: the kernel frees the file when its last handle closes,
            // which a killed process's do.
            assert_eq!(meta.nlink(), 0, "a run file has a name");
            assert_eq!(meta.mode() & 0o777, 0o600);
            assert!(meta.len() > 0, "the run is in the file");
        }
        let keys: Vec<String> = sort.finish().unwrap().map(Result::unwrap).collect();
        assert_eq!(keys, ["a", "b", "c", "d", "e"]);
    }

    #[test]
    fn a_damaged_unnamed_run_is_an_error_naming_it() {
        let mut sort = ExternalSort::in_unnamed_files("pinbrev-test-sort-", 2);
        for key in ["d", "c", "b", "a", "e"] {
            sort.push(key.to_string()).unwrap();
        }
        // The second run ("a", "b") loses the last byte of its last key.
        let run = &sort.unnamed_files()[1];
        run.set_len(run.metadata().unwrap().len() - 1).unwrap();
        let results: Vec<Result<String, SortError>> = sort.finish().unwrap().collect();
        let error = results
            .iter()
            .find_map(|r| r.as_ref().err())
            .expect("the damage is reported");
        assert_eq!(
            error.path,
            std::env::temp_dir().join("pinbrev-test-sort-run-00002 (unnamed)")
        );
        assert!(results.last().unwrap().is_err());
    }

    #[test]
    fn a_longer_run_file_left_by_a_killed_sort_is_written_over_whole() {
        let (_dir, folder) = folder();
        let mut stale = 7u32.to_le_bytes().to_vec();
        stale.extend_from_slice(b"stale-1");
        stale.extend_from_slice(&[0xff; 64]);
        std::fs::write(folder.join("run-00001"), &stale).unwrap();
        let mut sort = ExternalSort::in_folder(&folder, 2);
        for key in ["b", "a", "c"] {
            sort.push(key.to_string()).unwrap();
        }
        let keys: Vec<String> = sort.finish().unwrap().map(Result::unwrap).collect();
        assert_eq!(keys, ["a", "b", "c"]);
    }

    #[test]
    fn a_sort_in_memory_writes_nothing() {
        let mut sort = ExternalSort::in_memory();
        assert!(sort.is_empty());
        for key in ["b", "a", "c"] {
            sort.push(key.to_string()).unwrap();
        }
        assert_eq!(sorted(sort), ["a", "b", "c"]);
    }

    #[test]
    fn a_damaged_run_is_an_error_naming_its_file_not_a_shorter_list() {
        let (_dir, folder) = folder();
        let mut sort = ExternalSort::in_folder(&folder, 2);
        for key in ["d", "c", "b", "a", "e"] {
            sort.push(key.to_string()).unwrap();
        }
        // The second run ("a", "b") loses the last byte of its last key.
        let run = folder.join("run-00002");
        let bytes = fs::read(&run).unwrap();
        fs::write(&run, &bytes[..bytes.len() - 1]).unwrap();
        let results: Vec<Result<String, SortError>> = sort.finish().unwrap().collect();
        let error = results
            .iter()
            .find_map(|r| r.as_ref().err())
            .expect("the damage is reported");
        assert_eq!(error.path, run);
        assert!(error.to_string().contains("run-00002"), "{error}");
        assert!(
            results.last().unwrap().is_err(),
            "nothing is yielded after the damage"
        );
        assert!(files_in(&folder).is_empty());
    }

    #[test]
    fn a_run_that_cannot_be_written_names_its_file() {
        let (_dir, folder) = folder();
        // A folder where the first run's file should go.
        fs::create_dir(folder.join("run-00001")).unwrap();
        let mut sort = ExternalSort::in_folder(&folder, 1);
        let error = sort.push("a".to_string()).unwrap_err();
        assert_eq!(error.path, folder.join("run-00001"));
    }

    proptest! {
        #[test]
        fn any_keys_in_any_runs_come_back_sorted(
            keys in proptest::collection::vec(".{0,12}", 0..200),
            run_keys in 1usize..40,
        ) {
            let (_dir, folder) = folder();
            let mut sort = ExternalSort::in_folder(&folder, run_keys);
            for key in &keys {
                sort.push(key.clone()).unwrap();
            }
            let mut expected = keys.clone();
            expected.sort();
            prop_assert_eq!(sorted(sort), expected);
            prop_assert!(files_in(&folder).is_empty());
        }
    }
}
