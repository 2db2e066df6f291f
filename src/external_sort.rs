//! Sorting more keys than a step should hold in memory: the keys are sorted a run at a time,
//! each full run written to an owner-only file of its own, and the runs merged as they are read
//! back.
//!
//! `batch create` sorts one key per letter of the night (its place in the drop), which held
//! together in memory grew with the night. With runs of [`RUN_KEYS`], what the sort holds is
//! one run (and a read buffer per run written) however large the night.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::files::open_private_nofollow;

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
    /// A new owner-only folder of its own under `TMPDIR`, named `prefix` and random letters,
    /// made when the first run is written (a small sort makes none) and removed with the sort.
    Temporary {
        prefix: &'static str,
        made: Option<tempfile::TempDir>,
    },
}

/// Text keys to be sorted, pushed one at a time.
#[derive(Debug)]
pub struct ExternalSort {
    folder: Folder,
    run_keys: usize,
    run: Vec<String>,
    files: RunFiles,
    count: usize,
}

impl ExternalSort {
    /// A sort that keeps every key in memory.
    pub fn in_memory() -> ExternalSort {
        ExternalSort {
            folder: Folder::Memory,
            run_keys: usize::MAX,
            run: Vec::new(),
            files: RunFiles::default(),
            count: 0,
        }
    }

    /// A sort that writes each run of `run_keys` keys (at least one), sorted, to a new file in
    /// `folder`, an owner-only folder of the caller's that no one else writes in.
    pub fn in_folder(folder: &Path, run_keys: usize) -> ExternalSort {
        ExternalSort {
            folder: Folder::Given(folder.to_path_buf()),
            run_keys: run_keys.max(1),
            ..ExternalSort::in_memory()
        }
    }

    /// A sort that writes each run of `run_keys` keys (at least one), sorted, to a new file in
    /// a folder of its own under `TMPDIR` (owner-only, named `prefix` and random letters). The
    /// folder is made when the first run is written, and removed with the sort, or with its
    /// [`SortedKeys`]: a sort that stays in memory leaves nothing behind, even if killed.
    pub fn in_temporary_folder(prefix: &'static str, run_keys: usize) -> ExternalSort {
        ExternalSort {
            folder: Folder::Temporary { prefix, made: None },
            run_keys: run_keys.max(1),
            ..ExternalSort::in_memory()
        }
    }

    /// The folder the runs are written in, once there is one.
    pub fn folder(&self) -> Option<&Path> {
        match &self.folder {
            Folder::Memory => None,
            Folder::Given(path) => Some(path),
            Folder::Temporary { made, .. } => made.as_ref().map(tempfile::TempDir::path),
        }
    }

    /// The folder to write a run in, made first if it is a temporary one not made yet.
    fn run_folder(&mut self) -> Result<Option<PathBuf>, SortError> {
        Ok(match &mut self.folder {
            Folder::Memory => None,
            Folder::Given(path) => Some(path.clone()),
            Folder::Temporary { prefix, made } => {
                let dir = match made {
                    Some(dir) => dir,
                    None => made.insert(
                        tempfile::Builder::new()
                            .prefix(*prefix)
                            .permissions(fs::Permissions::from_mode(0o700))
                            .tempdir()
                            .map_err(|source| SortError {
                                path: std::env::temp_dir(),
                                source,
                            })?,
                    ),
                };
                Some(dir.path().to_path_buf())
            }
        })
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
        self.run.push(key);
        self.count += 1;
        if self.run.len() >= self.run_keys {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> Result<(), SortError> {
        let Some(folder) = self.run_folder()? else {
            return Ok(());
        };
        let path = folder.join(format!("run-{:05}", self.files.0.len() + 1));
        self.run.sort_unstable();
        let failed = |source| SortError {
            path: path.clone(),
            source,
        };
        let file = open_private_nofollow(&path).map_err(failed)?;
        self.files.0.push(path.clone());
        // A file of the same name left by a run that was killed would otherwise keep its tail.
        file.set_len(0).map_err(failed)?;
        let mut out = BufWriter::with_capacity(BUFFER, file);
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
        let dir = match &mut self.folder {
            Folder::Temporary { made, .. } => made.take(),
            _ => None,
        };
        let mut sorted = SortedKeys {
            memory,
            runs: Vec::with_capacity(files.0.len()),
            heap: BinaryHeap::new(),
            _files: RunFiles::default(),
            _dir: dir,
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
/// written. Its run files are removed when it is dropped.
pub struct SortedKeys {
    memory: std::vec::IntoIter<String>,
    runs: Vec<Run>,
    /// The next key of each source (0 the memory, then the run files), smallest on top.
    heap: BinaryHeap<Reverse<(String, usize)>>,
    _files: RunFiles,
    /// A temporary folder of the sort's own, removed after its run files (fields are dropped
    /// in order).
    _dir: Option<tempfile::TempDir>,
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
    fn a_temporary_folder_is_made_only_for_a_run_written_and_removed_when_done() {
        let mut small = ExternalSort::in_temporary_folder("pinbrev-test-sort-", 3);
        for key in ["b", "a"] {
            small.push(key.to_string()).unwrap();
        }
        assert_eq!(small.folder(), None, "no run written, no folder");
        assert_eq!(sorted(small), ["a", "b"]);

        let mut sort = ExternalSort::in_temporary_folder("pinbrev-test-sort-", 2);
        for key in ["d", "c", "b", "a", "e"] {
            sort.push(key.to_string()).unwrap();
        }
        let folder = sort.folder().unwrap().to_path_buf();
        assert!(
            folder.starts_with(std::env::temp_dir()),
            "{}",
            folder.display()
        );
        assert!(folder
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("pinbrev-test-sort-"));
        assert_eq!(
            fs::metadata(&folder).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert_eq!(files_in(&folder).len(), 2);
        let keys = sort.finish().unwrap();
        assert!(folder.is_dir(), "the runs are read back from it");
        let keys: Vec<String> = keys.map(Result::unwrap).collect();
        assert_eq!(keys, ["a", "b", "c", "d", "e"]);
        assert!(!folder.exists(), "removed with the sorted keys");

        let mut dropped = ExternalSort::in_temporary_folder("pinbrev-test-sort-", 1);
        dropped.push("a".into()).unwrap();
        let folder = dropped.folder().unwrap().to_path_buf();
        drop(dropped);
        assert!(!folder.exists(), "removed with a sort given up");
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
