//! `pinbrev report`: the store's rows of the orders placed since a point in time, turned into the
//! report by the rules in [`pinbrev_core::report`] (deadlines, breaches, ordering); the HTML
//! page is [`pinbrev_core::report_html`].
//!
//! The judged orders go through the deadline rule one at a time as the store reads them, and
//! their breaches into a file without a name ([`BreachFile`]) from which each format reads them
//! back: a report on a night of a million late orders holds neither the orders nor the breaches.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Seek, Write};

use chrono::{DateTime, Utc};
use serde::ser::{Error as _, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::db::{Db, DbError, TempStore};
use crate::orders::timestamp;
pub use pinbrev_core::report::*;
pub use pinbrev_core::report_html;

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportFailure {
    #[error(transparent)]
    Db(#[from] DbError),
    /// The file the breaches wait in (under `TMPDIR`, without a name).
    #[error("cannot keep the report's SLA breaches in a temporary file under {folder}: {source}")]
    Breaches {
        folder: std::path::PathBuf,
        source: io::Error,
    },
}

impl From<ReportError> for ReportFailure {
    fn from(ReportError::BadTime { what, message }: ReportError) -> Self {
        ReportFailure::Db(DbError::Corrupt { what, message })
    }
}

fn breaches_failed(source: io::Error) -> ReportFailure {
    ReportFailure::Breaches {
        folder: std::env::temp_dir(),
        source,
    }
}

/// A report's SLA breaches in a file without a name under `TMPDIR` (owner-only, freed by the
/// kernel when the report is done or the process ends, however it ends), one JSON line each,
/// with the first [`FIRST_BREACHES`] also at hand.
#[derive(Debug)]
pub struct BreachFile {
    file: File,
    out: Option<BufWriter<File>>,
    count: u64,
    first: Vec<SlaBreach>,
}

impl BreachFile {
    /// An empty file.
    pub fn new() -> io::Result<BreachFile> {
        let file = crate::files::unnamed_private_file()?;
        Ok(BreachFile {
            out: Some(BufWriter::new(file.try_clone()?)),
            file,
            count: 0,
            first: Vec::new(),
        })
    }

    /// Adds the next breach.
    pub fn push(&mut self, breach: SlaBreach) -> io::Result<()> {
        let out = self
            .out
            .as_mut()
            .ok_or_else(|| io::Error::other("the breaches were already read"))?;
        serde_json::to_writer(&mut *out, &breach)?;
        out.write_all(b"\n")?;
        self.count += 1;
        if self.first.len() < FIRST_BREACHES {
            self.first.push(breach);
        }
        Ok(())
    }

    /// Writes out what is buffered: the breaches can be read from now on.
    pub fn finish(&mut self) -> io::Result<()> {
        if let Some(out) = self.out.take() {
            out.into_inner().map_err(io::IntoInnerError::into_error)?;
        }
        Ok(())
    }
}

impl Breaches for BreachFile {
    type Error = io::Error;

    fn count(&self) -> u64 {
        self.count
    }

    fn first(&self) -> &[SlaBreach] {
        &self.first
    }

    fn try_for_each<E: From<io::Error>>(
        &self,
        mut each: impl FnMut(&SlaBreach) -> Result<(), E>,
    ) -> Result<(), E> {
        if self.out.is_some() {
            return Err(io::Error::other("the breaches are still being written").into());
        }
        let mut file = &self.file;
        file.rewind()?;
        for line in BufReader::new(file).lines() {
            let breach: SlaBreach = serde_json::from_str(&line?).map_err(io::Error::from)?;
            each(&breach)?;
        }
        Ok(())
    }
}

/// As a JSON array, read back from the file element by element: the same text as the vector
/// of the same breaches.
impl Serialize for BreachFile {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        let mut failed = None;
        let read = self.try_for_each(|b| {
            seq.serialize_element(b).map_err(|e| {
                failed = Some(e);
                io::Error::other("serializing a breach")
            })
        });
        if let Some(e) = failed {
            return Err(e);
        }
        read.map_err(S::Error::custom)?;
        seq.end()
    }
}

/// Reads the report of orders placed at or after `since`, as of `now`.
pub async fn generate(
    db: &Db,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Report<BreachFile>, ReportFailure> {
    // The report's sorts and groupings go through up to every order of the period: on disk
    // (files without a name), not in this process's memory.
    db.keep_temporary_data(TempStore::Disk).await?;
    let mut judge = SlaJudge::new(now);
    let mut breaches = BreachFile::new().map_err(breaches_failed)?;
    let data = db
        .report_data(&timestamp(since), &NOT_JUDGED, |row| {
            if let Some(breach) = judge.judge(row)? {
                breaches.push(breach).map_err(breaches_failed)?;
            }
            Ok::<_, ReportFailure>(())
        })
        .await?;
    breaches.finish().map_err(breaches_failed)?;
    Ok(build(data, judge, breaches, since, now)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pinbrev_core::order::OrderStatus;

    fn breach(n: usize) -> SlaBreach {
        SlaBreach {
            order_id: format!("WEB-{n}"),
            status: OrderStatus::Batched,
            ordered_at: "2026-11-20T09:00:00.000000Z".into(),
            deadline_day: "2026-11-25".parse().unwrap(),
            deadline: "2026-11-25T23:00:00.000000Z".into(),
            posted_at: n
                .is_multiple_of(2)
                .then(|| "2026-11-27T09:00:00.000000Z".into()),
            working_days_late: n as u32,
        }
    }

    #[test]
    fn breaches_come_back_from_their_file_as_from_a_vector() {
        use std::os::unix::fs::MetadataExt;
        for n in [0, 1, FIRST_BREACHES + 3] {
            let vector: Vec<SlaBreach> = (0..n).map(breach).collect();
            let mut file = BreachFile::new().unwrap();
            for b in &vector {
                file.push(b.clone()).unwrap();
            }
            file.finish().unwrap();
            let meta = file.file.metadata().unwrap();
            assert_eq!(meta.nlink(), 0, "the file has a name");
            assert_eq!(meta.mode() & 0o777, 0o600);
            assert_eq!(file.count(), vector.count());
            assert_eq!(file.first(), vector.first());
            for _ in 0..2 {
                let mut back = Vec::new();
                file.try_for_each(|b| {
                    back.push(b.clone());
                    io::Result::Ok(())
                })
                .unwrap();
                assert_eq!(back, vector, "read back, again");
            }
            assert_eq!(
                serde_json::to_string_pretty(&file).unwrap(),
                serde_json::to_string_pretty(&vector).unwrap()
            );
            assert_eq!(
                serde_json::to_string(&file).unwrap(),
                serde_json::to_string(&vector).unwrap()
            );
        }
    }

    #[test]
    fn a_damaged_breach_file_is_an_error_not_a_shorter_list() {
        let mut file = BreachFile::new().unwrap();
        for n in 0..3 {
            file.push(breach(n)).unwrap();
        }
        file.finish().unwrap();
        let len = file.file.metadata().unwrap().len();
        file.file.set_len(len - 5).unwrap();
        let mut seen = 0;
        let read = file.try_for_each(|_| {
            seen += 1;
            io::Result::Ok(())
        });
        assert!(read.is_err());
        assert_eq!(seen, 2);
        assert!(serde_json::to_string(&file).is_err());
    }
}
