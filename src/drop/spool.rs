//! A new batch's letters kept on disk in the order of its parts, so that each part is rendered
//! from a file of its own instead of from a search of the orders for each of its letters.
//!
//! `batch create` reads the validated orders once, in the order of their queue's index, and
//! each order's render data goes into `OUTBOX/.pinbrev-spool/read` as it comes ([`Spool`]).
//! Once the batch has its sequence, that file is read from end to end and each record goes to
//! its part's file ([`Spool::into_parts`]); a part's render then reads its file alone
//! ([`SpooledParts::take`]). Read from the database a part at a time, each letter's order was a
//! search at a place as random as the ids, in a table larger than SQLite's cache: 8.2 s of a
//! batch of 936,943 letters.
//!
//! The spool is only ever a copy of what the batch's transaction read: a part whose file is
//! missing, unreadable or not exactly the part's letters is read from the database, and a
//! resumed batch is read from the database throughout. The folder is owner-only, and removed
//! when the batch is built, when it fails, and by the next `batch create` after a crash.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::db::{BatchOrder, DbError, LetterJob, NewBatch};
use crate::files::{create_private_dir, open_private_nofollow};
use pinbrev_core::letter::letter_id;

/// The spool's folder inside the outbox.
const DIR: &str = ".pinbrev-spool";

/// Bytes kept per part before they are appended to its file: at most this much memory a part.
const PART_BUFFER: usize = 32 * 1024;

/// The spool's folder in an outbox.
pub(super) fn folder(outbox: &Path) -> PathBuf {
    outbox.join(DIR)
}

/// The spool folder, removed when dropped.
#[derive(Debug)]
struct SpoolDir(PathBuf);

impl Drop for SpoolDir {
    fn drop(&mut self) {
        if let Err(e) = fs::remove_dir_all(&self.0) {
            if e.kind() != io::ErrorKind::NotFound {
                tracing::warn!(folder = %self.0.display(), error = %e, "could not remove the spool folder");
            }
        }
    }
}

/// The orders of a batch being made, in the order read.
#[derive(Debug)]
pub(super) struct Spool {
    dir: SpoolDir,
    reads: BufWriter<File>,
    record: Vec<u8>,
    count: usize,
    /// The first write that failed: the spool is then not used.
    failed: Option<io::Error>,
}

impl Spool {
    /// Starts an empty spool in the outbox, removing what an interrupted run left there (or
    /// anything else in its place).
    pub(super) fn start(outbox: &Path) -> io::Result<Spool> {
        let path = folder(outbox);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => fs::remove_dir_all(&path)?,
            Ok(_) => fs::remove_file(&path)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        create_private_dir(&path)?;
        let dir = SpoolDir(path);
        let file = open_private_nofollow(&dir.0.join("read"))?;
        Ok(Spool {
            dir,
            reads: BufWriter::with_capacity(1 << 16, file),
            record: Vec::new(),
            count: 0,
            failed: None,
        })
    }

    /// Adds the next order read.
    pub(super) fn push(&mut self, order: BatchOrder<'_>) {
        if self.failed.is_some() {
            return;
        }
        self.record.clear();
        encode(&mut self.record, &order);
        let len = (self.record.len() as u32).to_le_bytes();
        if let Err(e) = self
            .reads
            .write_all(&len)
            .and_then(|()| self.reads.write_all(&self.record))
        {
            self.failed = Some(e);
        }
        self.count += 1;
    }

    /// Sorts the orders read into a file per part of `batch`, each record with its letter's
    /// sequence. An error when a write failed, or when the batch is not of the orders read.
    pub(super) fn into_parts(mut self, batch: &NewBatch) -> io::Result<SpooledParts> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        self.reads.flush()?;
        if self.count != batch.sequence_of_read.len() {
            return Err(io::Error::other(format!(
                "{} orders spooled, {} in the batch",
                self.count,
                batch.sequence_of_read.len()
            )));
        }
        let path = self.dir.0.join("read");
        let mut reads = BufReader::with_capacity(1 << 16, File::open(&path)?);
        let mut parts: Vec<Vec<u8>> = Vec::new();
        let mut record = Vec::new();
        for &sequence in &batch.sequence_of_read {
            let len = read_u32(&mut reads)? as usize;
            record.resize(len, 0);
            reads.read_exact(&mut record)?;
            let (part, _) = batch.layout.place(i64::from(sequence));
            let part = usize::try_from(part - 1).map_err(io::Error::other)?;
            if parts.len() <= part {
                parts.resize_with(part + 1, Vec::new);
            }
            let buffer = &mut parts[part];
            buffer.extend_from_slice(&sequence.to_le_bytes());
            buffer.extend_from_slice(&(len as u32).to_le_bytes());
            buffer.extend_from_slice(&record);
            if buffer.len() >= PART_BUFFER {
                append(&self.dir.0, part + 1, buffer)?;
            }
        }
        for (part, buffer) in parts.iter_mut().enumerate() {
            append(&self.dir.0, part + 1, buffer)?;
        }
        drop(reads);
        fs::remove_file(&path)?;
        Ok(SpooledParts { dir: self.dir })
    }
}

/// A new batch's letters in a file per part.
#[derive(Debug)]
pub(super) struct SpooledParts {
    dir: SpoolDir,
}

impl SpooledParts {
    /// The letters `from..=to` of part `part` of batch `batch_id`, in sequence order, its file
    /// then removed; `None` when its file is missing or does not hold exactly those letters.
    pub(super) fn take(
        &self,
        batch_id: &str,
        part: u32,
        from: i64,
        to: i64,
    ) -> Result<Option<Vec<LetterJob>>, DbError> {
        let path = part_path(&self.dir.0, part as usize);
        let Ok(bytes) = fs::read(&path) else {
            return Ok(None);
        };
        // Read once at most: a part rendered again (taken over from a worker) reads the
        // database.
        if let Err(e) = fs::remove_file(&path) {
            tracing::warn!(file = %path.display(), error = %e, "could not remove a spooled part");
        }
        let Some(mut records) = decode_part(&bytes) else {
            tracing::warn!(file = %path.display(), "a spooled part could not be read; reading its letters from the database");
            return Ok(None);
        };
        records.sort_unstable_by_key(|(sequence, _)| *sequence);
        let exact = records.len() as i64 == to - from + 1
            && (from..)
                .zip(&records)
                .all(|(s, (sequence, _))| s == *sequence);
        if !exact {
            tracing::warn!(
                part,
                "a spooled part does not hold the part's letters; reading them from the database"
            );
            return Ok(None);
        }
        records
            .into_iter()
            .map(|(sequence, order)| LetterJob::new(letter_id(batch_id, sequence), sequence, order))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}

fn part_path(dir: &Path, part: usize) -> PathBuf {
    dir.join(format!("part-{part:05}"))
}

/// Appends a part's buffered records to its file, emptying the buffer.
fn append(dir: &Path, part: usize, buffer: &mut Vec<u8>) -> io::Result<()> {
    if buffer.is_empty() {
        return Ok(());
    }
    let mut file = open_private_nofollow(&part_path(dir, part))?;
    file.seek(SeekFrom::End(0))?;
    file.write_all(buffer)?;
    buffer.clear();
    Ok(())
}

fn read_u32(from: &mut impl Read) -> io::Result<u32> {
    let mut bytes = [0; 4];
    from.read_exact(&mut bytes)?;
    Ok(u32::from_le_bytes(bytes))
}

/// A field: its length in four bytes (`u32::MAX` for none), then its bytes.
fn put(into: &mut Vec<u8>, field: Option<&str>) {
    match field {
        Some(text) => {
            into.extend_from_slice(&(text.len() as u32).to_le_bytes());
            into.extend_from_slice(text.as_bytes());
        }
        None => into.extend_from_slice(&u32::MAX.to_le_bytes()),
    }
}

fn encode(into: &mut Vec<u8>, order: &BatchOrder<'_>) {
    put(into, Some(order.order_id));
    for field in [
        order.language,
        order.address,
        order.postal_zone,
        order.postcode,
        order.country,
    ] {
        put(into, field);
    }
}

/// Reads the next field at `at`; `None` when the bytes are not a field.
fn take_field<'a>(bytes: &'a [u8], at: &mut usize) -> Option<Option<&'a str>> {
    let len = u32::from_le_bytes(bytes.get(*at..*at + 4)?.try_into().ok()?);
    *at += 4;
    if len == u32::MAX {
        return Some(None);
    }
    let text = std::str::from_utf8(bytes.get(*at..*at + len as usize)?).ok()?;
    *at += len as usize;
    Some(Some(text))
}

fn decode(record: &[u8]) -> Option<BatchOrder<'_>> {
    let at = &mut 0;
    let order = BatchOrder {
        order_id: take_field(record, at)??,
        language: take_field(record, at)?,
        address: take_field(record, at)?,
        postal_zone: take_field(record, at)?,
        postcode: take_field(record, at)?,
        country: take_field(record, at)?,
    };
    (*at == record.len()).then_some(order)
}

/// A part file's records: each a sequence, a length and an encoded order.
fn decode_part(bytes: &[u8]) -> Option<Vec<(i64, BatchOrder<'_>)>> {
    let mut records = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let sequence = u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?);
        let len = u32::from_le_bytes(bytes.get(at + 4..at + 8)?.try_into().ok()?) as usize;
        at += 8;
        records.push((i64::from(sequence), decode(bytes.get(at..at + len)?)?));
        at += len;
    }
    Some(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::BatchRow;
    use pinbrev_core::letter::{BatchState, PartLayout};
    use std::os::unix::fs::PermissionsExt;

    fn order(i: usize) -> (String, String) {
        (format!("O-{i}"), format!("{{\"lines\":[\"Person {i}\"]}}"))
    }

    fn batch(sequence_of_read: Vec<u32>, per_file: i64) -> NewBatch {
        NewBatch {
            batch: BatchRow {
                batch_id: "B20261207-001".into(),
                vendor: "v".into(),
                outbox: "o".into(),
                state: BatchState::Building,
                created_at: "t".into(),
                letter_count: sequence_of_read.len() as i64,
                published_at: None,
            },
            layout: PartLayout::new(per_file),
            sequence_of_read,
        }
    }

    fn spool_of(outbox: &Path, orders: &[(String, String)]) -> Spool {
        let mut spool = Spool::start(outbox).unwrap();
        for (i, (order_id, address)) in orders.iter().enumerate() {
            spool.push(BatchOrder {
                order_id,
                language: Some("nb"),
                address: Some(address),
                postal_zone: Some(if i % 2 == 0 { "domestic" } else { "abroad" }),
                postcode: (i % 2 == 0).then_some("0150"),
                country: Some(if i % 2 == 0 { "NO" } else { "SE" }),
            });
        }
        spool
    }

    #[test]
    fn each_part_gets_its_letters_in_sequence_order_whatever_order_they_were_read_in() {
        let outbox = tempfile::tempdir().unwrap();
        let orders: Vec<_> = (0..7).map(order).collect();
        // Read in one order; the batch's sequence is another.
        let sequence_of_read = vec![5, 2, 7, 1, 3, 6, 4];
        let spool = spool_of(outbox.path(), &orders);
        let dir = outbox.path().join(DIR);
        let mode = fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        let parts = spool
            .into_parts(&batch(sequence_of_read.clone(), 3))
            .unwrap();
        for entry in fs::read_dir(&dir).unwrap() {
            let mode = entry.unwrap().metadata().unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        let mut seen = Vec::new();
        for (part, (from, to)) in [(1, (1, 3)), (2, (4, 6)), (3, (7, 7))] {
            let jobs = parts
                .take("B20261207-001", part, from, to)
                .unwrap()
                .unwrap();
            for job in jobs {
                let read_as = sequence_of_read
                    .iter()
                    .position(|&s| i64::from(s) == job.sequence)
                    .unwrap();
                assert_eq!(job.order_id, orders[read_as].0);
                assert_eq!(job.address, orders[read_as].1);
                assert_eq!(job.letter_id, letter_id("B20261207-001", job.sequence));
                let domestic = read_as % 2 == 0;
                assert_eq!(job.postcode.is_some(), domestic);
                assert_eq!(job.country, if domestic { "NO" } else { "SE" });
                seen.push(job.sequence);
            }
        }
        assert_eq!(seen, (1..=7).collect::<Vec<_>>());
        // Taken once: a second read of a part goes to the database.
        assert!(parts.take("B20261207-001", 1, 1, 3).unwrap().is_none());
        drop(parts);
        assert!(!dir.exists(), "the spool folder is removed with the spool");
    }

    #[test]
    fn a_part_laid_out_otherwise_than_spooled_is_not_taken_from_the_spool() {
        let outbox = tempfile::tempdir().unwrap();
        let orders: Vec<_> = (0..4).map(order).collect();
        let spool = spool_of(outbox.path(), &orders);
        let parts = spool.into_parts(&batch(vec![1, 2, 3, 4], 2)).unwrap();
        // The part holds 1..=2; asked for 1..=3 (letters per file changed), or 2..=2.
        assert!(parts.take("B", 1, 1, 3).unwrap().is_none());
        assert!(parts.take("B", 2, 4, 4).unwrap().is_none());
    }

    #[test]
    fn a_spool_of_other_orders_than_the_batch_is_refused_and_removed() {
        let outbox = tempfile::tempdir().unwrap();
        let orders: Vec<_> = (0..3).map(order).collect();
        let spool = spool_of(outbox.path(), &orders);
        let err = spool.into_parts(&batch(vec![1, 2], 5)).unwrap_err();
        assert!(
            err.to_string().contains("3 orders spooled, 2 in the batch"),
            "{err}"
        );
        assert!(!outbox.path().join(DIR).exists());
    }

    #[test]
    fn a_damaged_part_file_is_read_from_the_database() {
        let outbox = tempfile::tempdir().unwrap();
        let orders: Vec<_> = (0..2).map(order).collect();
        let spool = spool_of(outbox.path(), &orders);
        let parts = spool.into_parts(&batch(vec![1, 2], 5)).unwrap();
        let path = part_path(&outbox.path().join(DIR), 1);
        let bytes = fs::read(&path).unwrap();
        fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        assert!(parts.take("B", 1, 1, 2).unwrap().is_none());
    }

    #[test]
    fn a_stale_spool_is_replaced() {
        let outbox = tempfile::tempdir().unwrap();
        let dir = outbox.path().join(DIR);
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("part-00001"), b"left by a crash").unwrap();
        let spool = Spool::start(outbox.path()).unwrap();
        assert!(!dir.join("part-00001").exists());
        drop(spool);
        assert!(!dir.exists());
    }

    #[test]
    fn a_file_or_a_link_in_the_spools_place_is_removed_not_followed() {
        let outbox = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        fs::write(elsewhere.path().join("keep"), b"not pinbrev's").unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), folder(outbox.path())).unwrap();
        let spool = Spool::start(outbox.path()).unwrap();
        assert!(elsewhere.path().join("keep").exists());
        assert!(fs::symlink_metadata(folder(outbox.path()))
            .unwrap()
            .is_dir());
        drop(spool);
        fs::write(folder(outbox.path()), b"a file").unwrap();
        let spool = Spool::start(outbox.path()).unwrap();
        assert!(folder(outbox.path()).is_dir());
        drop(spool);
        assert!(elsewhere.path().join("keep").exists());
    }

    #[test]
    fn fields_round_trip_and_truncated_records_are_refused() {
        let order = BatchOrder {
            order_id: "A-1",
            language: None,
            address: Some("{\"lines\":[\"Åse Ŋ\"]}"),
            postal_zone: Some("abroad"),
            postcode: None,
            country: Some("SE"),
        };
        let mut bytes = Vec::new();
        encode(&mut bytes, &order);
        assert_eq!(decode(&bytes), Some(order));
        for cut in 0..bytes.len() {
            assert_eq!(decode(&bytes[..cut]), None, "cut at {cut}");
        }
    }
}
