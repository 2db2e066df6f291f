//! The parts of a batch that render workers share (PostgreSQL): planned when the batch is
//! built, claimed under a lease (`FOR UPDATE SKIP LOCKED`), reported done with their codes.

use chrono::{DateTime, Utc};

use super::{col, ctx, Db, DbError, Engine, PartRecord};
use pinbrev_core::letter::{BatchState, PartState};
use pinbrev_core::order::timestamp;

/// A part a worker holds: render letters `first_sequence..=last_sequence` of the batch, and
/// report them done under this `attempt` before the lease runs out.
#[derive(Debug, Clone)]
pub struct PartClaim {
    pub batch_id: String,
    pub part: i64,
    pub first_sequence: i64,
    pub last_sequence: i64,
    pub attempt: i64,
}

/// Where a part stands.
#[derive(Debug, Clone)]
pub struct PartStatus {
    pub state: PartState,
    pub attempt: i64,
    /// The lease of a claimed part has run out: another may claim it.
    pub lease_expired: bool,
    pub bytes: Option<i64>,
    pub sha256: Option<String>,
    pub pages: Option<i64>,
}

/// The file a part's render writes under its claim: parts rendered again (after a lease ran
/// out) never write over each other, and the publisher renames the winning one.
pub fn attempt_file_name(part_file: &str, attempt: i64) -> String {
    format!("{part_file}.{attempt}.part")
}

impl Db {
    /// Whether parts are rendered by claim (several workers may share the batch): on
    /// PostgreSQL.
    pub fn renders_by_claim(&self) -> bool {
        self.engine == Engine::Postgres
    }

    /// Plans the parts of a batch anew, one per range of sequences (as [`Db::part_ranges`] reads
    /// them). Claims of an earlier plan become void: new claims count on from the highest
    /// attempt of any earlier one.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn plan_parts(&self, batch_id: &str, ranges: &[(i64, i64)]) -> Result<(), DbError> {
        let mut tx = self.begin_write().await?;
        let attempt: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(attempt), 0) FROM batch_parts WHERE batch_id = $1",
        )
        .bind(batch_id)
        .fetch_one(&mut *tx)
        .await
        .map_err(ctx("reading a batch's parts"))?;
        sqlx::query("DELETE FROM batch_parts WHERE batch_id = $1")
            .bind(batch_id)
            .execute(&mut *tx)
            .await
            .map_err(ctx("planning a batch's parts"))?;
        for (part, (first, last)) in (1i64..).zip(ranges) {
            sqlx::query(
                "INSERT INTO batch_parts (batch_id, part, first_sequence, last_sequence, state, attempt) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(batch_id)
            .bind(part)
            .bind(first)
            .bind(last)
            .bind(PartState::Planned.code())
            .bind(attempt)
            .execute(&mut *tx)
            .await
            .map_err(ctx("planning a batch's parts"))?;
        }
        tx.commit().await.map_err(ctx("committing a batch's parts"))
    }

    /// Claims part `part` of a batch if it is planned or its lease ran out.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn claim_part(
        &self,
        batch_id: &str,
        part: i64,
        worker: &str,
        lease: chrono::Duration,
    ) -> Result<Option<PartClaim>, DbError> {
        let now = Utc::now();
        let row = sqlx::query(
            "UPDATE batch_parts SET state = $1, attempt = attempt + 1, claimed_by = $2, lease_until = $3 \
             WHERE batch_id = $4 AND part = $5 AND (state = $6 OR (state = $1 AND lease_until < $7)) \
             RETURNING batch_id, part, first_sequence, last_sequence, attempt",
        )
        .bind(PartState::Claimed.code())
        .bind(worker)
        .bind(timestamp(now + lease))
        .bind(batch_id)
        .bind(part)
        .bind(PartState::Planned.code())
        .bind(timestamp(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(ctx("claiming a part"))?;
        row.map(|r| claim_row(&r)).transpose()
    }

    /// Claims the first part, of any batch being built, that is planned or whose lease ran
    /// out, skipping parts another worker is claiming at this moment.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn claim_any_part(
        &self,
        worker: &str,
        lease: chrono::Duration,
    ) -> Result<Option<PartClaim>, DbError> {
        let now = Utc::now();
        let row = sqlx::query(
            "UPDATE batch_parts SET state = $1, attempt = attempt + 1, claimed_by = $2, lease_until = $3 \
             WHERE (batch_id, part) = ( \
                 SELECT p.batch_id, p.part FROM batch_parts p JOIN batches b ON b.batch_id = p.batch_id \
                 WHERE b.state = $4 AND (p.state = $5 OR (p.state = $1 AND p.lease_until < $6)) \
                 ORDER BY p.batch_id, p.part LIMIT 1 FOR UPDATE OF p SKIP LOCKED) \
             RETURNING batch_id, part, first_sequence, last_sequence, attempt",
        )
        .bind(PartState::Claimed.code())
        .bind(worker)
        .bind(timestamp(now + lease))
        .bind(BatchState::Building.code())
        .bind(PartState::Planned.code())
        .bind(timestamp(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(ctx("claiming a part"))?;
        row.map(|r| claim_row(&r)).transpose()
    }

    /// Where part `part` of a batch stands, if it is planned.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn part_status(
        &self,
        batch_id: &str,
        part: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<PartStatus>, DbError> {
        let row = sqlx::query(
            "SELECT state, attempt, CASE WHEN lease_until < $3 THEN 1 ELSE 0 END, bytes, sha256, pages \
             FROM batch_parts WHERE batch_id = $1 AND part = $2",
        )
        .bind(batch_id)
        .bind(part)
        .bind(timestamp(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(ctx("reading a part"))?;
        row.map(|r| {
            Ok(PartStatus {
                state: super::code_col(&r, 0, "batch_parts.state")?,
                attempt: col(&r, 1)?,
                lease_expired: col::<i64, _>(&r, 2)? == 1,
                bytes: col(&r, 3)?,
                sha256: col(&r, 4)?,
                pages: col(&r, 5)?,
            })
        })
        .transpose()
    }

    /// Reports a claimed part done: its file's size, digest and pages, and its letters' code
    /// digests, in one transaction. False (and nothing stored) when the claim is no longer
    /// this one: the lease ran out and another worker took the part.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn complete_part(
        &self,
        claim: &PartClaim,
        records: &[PartRecord],
        bytes: u64,
        sha256: &str,
        pages: u32,
    ) -> Result<bool, DbError> {
        let mut tx = self.begin_write().await?;
        let ours = sqlx::query(
            "UPDATE batch_parts SET state = $1, bytes = $2, sha256 = $3, pages = $4, lease_until = NULL \
             WHERE batch_id = $5 AND part = $6 AND state = $7 AND attempt = $8",
        )
        .bind(PartState::Done.code())
        .bind(bytes as i64)
        .bind(sha256)
        .bind(i64::from(pages))
        .bind(&claim.batch_id)
        .bind(claim.part)
        .bind(PartState::Claimed.code())
        .bind(claim.attempt)
        .execute(&mut *tx)
        .await
        .map_err(ctx("reporting a part done"))?
        .rows_affected()
            == 1;
        if !ours {
            return Ok(false);
        }
        self.store_part_in(&mut tx, &claim.batch_id, records)
            .await?;
        tx.commit().await.map_err(ctx("committing a part"))?;
        Ok(true)
    }
}

fn claim_row(r: &sqlx::any::AnyRow) -> Result<PartClaim, DbError> {
    Ok(PartClaim {
        batch_id: col(r, 0)?,
        part: col(r, 1)?,
        first_sequence: col(r, 2)?,
        last_sequence: col(r, 3)?,
        attempt: col(r, 4)?,
    })
}
