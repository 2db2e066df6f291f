//! SQL of the nightly run's bookkeeping, `orders cancel` and `purge`.

use super::builder::QueryBuilder;
use super::{col, ctx, insert_event, move_order, now, Db, DbError, Engine};
use pinbrev_core::letter::{BatchState, LetterState};
use pinbrev_core::order::OrderStatus;

/// A part file of a published batch and whether any letter in it still waits for the post.
#[derive(Debug, Clone)]
pub struct PartFile {
    pub batch_id: String,
    pub outbox: String,
    pub file: String,
    /// Whether a letter in it has valid codes and an order not posted yet.
    pub unposted: bool,
}

impl Db {
    /// Whether a file with this content was read before as this kind of input; the name it
    /// had then.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn input_file_seen(
        &self,
        kind: &str,
        sha256: &str,
    ) -> Result<Option<String>, DbError> {
        sqlx::query_scalar("SELECT name FROM input_files WHERE kind = $1 AND sha256 = $2")
            .bind(kind)
            .bind(sha256)
            .fetch_optional(&self.pool)
            .await
            .map_err(ctx("looking up a read file"))
    }

    /// Records that a file with this content was read.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn record_input_file(
        &self,
        sha256: &str,
        kind: &str,
        name: &str,
    ) -> Result<(), DbError> {
        sqlx::query("INSERT INTO input_files (sha256, kind, name, read_at) VALUES ($1, $2, $3, $4) ON CONFLICT (kind, sha256) DO NOTHING")
            .bind(sha256)
            .bind(kind)
            .bind(name)
            .bind(now())
            .execute(&self.pool)
            .await
            .map_err(ctx("recording a read file"))?;
        Ok(())
    }

    /// `orders cancel`: an order not yet posted is cancelled, with the operator's reason; a
    /// letter already made for it stops being valid. Returns the status it had, or `None` when
    /// the order's status does not allow cancelling (the caller reports which).
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn cancel_order(
        &self,
        order_id: &str,
        reason: &str,
        actor: &str,
    ) -> Result<Option<OrderStatus>, DbError> {
        let mut tx = self.begin_write().await?;
        let before: Option<String> =
            sqlx::query_scalar("SELECT status FROM orders WHERE order_id = $1")
                .bind(order_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(ctx("reading an order"))?;
        let Some(before) = before.and_then(|s| s.parse::<OrderStatus>().ok()) else {
            return Ok(None);
        };
        if !move_order(
            &mut tx,
            order_id,
            &OrderStatus::CANCELLABLE,
            OrderStatus::Cancelled,
            actor,
            OrderStatus::Cancelled.code(),
            Some(reason),
        )
        .await?
        {
            return Ok(None);
        }
        let [pending, issued] = LetterState::LIVE.map(LetterState::code);
        sqlx::query("UPDATE letters SET state = $1 WHERE order_id = $2 AND state IN ($3, $4)")
            .bind(LetterState::Cancelled.code())
            .bind(order_id)
            .bind(pending)
            .bind(issued)
            .execute(&mut *tx)
            .await
            .map_err(ctx("cancelling a letter"))?;
        tx.commit()
            .await
            .map_err(ctx("committing a cancellation"))?;
        Ok(Some(before))
    }

    /// Every part file of every published batch whose PDFs were not purged, with whether a
    /// letter in it still waits for the post.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn part_files(&self) -> Result<Vec<PartFile>, DbError> {
        // The files and their runs of the batch's sequence first, from the letters alone; then,
        // per file, a search for one letter still waiting, from the file's first letter on. A
        // file of a new batch answers at its first letter. Every letter's order was looked up
        // before, at random: after a night of a million letters, `purge --dry-run` took 5.9-6.4
        // s so and 1.3-1.4 s this way; with every letter posted (once for each batch: its
        // PDFs are then purged), 6.6 s against 6.9-7.3 s (two runs each).
        let rows = sqlx::query(
            "SELECT f.batch_id, f.outbox, f.file, CAST(CASE WHEN EXISTS ( \
               SELECT 1 FROM letters l JOIN orders o ON o.order_id = l.order_id \
               WHERE l.batch_id = f.batch_id AND l.sequence BETWEEN f.first AND f.last \
               AND l.file = f.file AND l.state = $1 AND o.status IN ($2, $3)) \
             THEN 1 ELSE 0 END AS BIGINT) \
             FROM (SELECT b.batch_id, b.outbox, l.file, MIN(l.sequence) AS first, \
                   MAX(l.sequence) AS last \
                   FROM letters l JOIN batches b ON b.batch_id = l.batch_id \
                   WHERE b.state = $4 AND b.pdfs_purged_at IS NULL AND l.file IS NOT NULL \
                   GROUP BY b.batch_id, b.outbox, l.file) AS f \
             ORDER BY f.batch_id, f.file",
        )
        .bind(LetterState::Issued.code())
        .bind(OrderStatus::Batched.code())
        .bind(OrderStatus::Printed.code())
        .bind(BatchState::Published.code())
        .fetch_all(&self.pool)
        .await
        .map_err(ctx("reading letter files"))?;
        rows.iter()
            .map(|r| {
                Ok(PartFile {
                    batch_id: col(r, 0)?,
                    outbox: col(r, 1)?,
                    file: col(r, 2)?,
                    unposted: col::<i64, _>(r, 3)? > 0,
                })
            })
            .collect()
    }

    /// Marks a batch's PDFs as all deleted.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn mark_pdfs_purged(&self, batch_id: &str) -> Result<(), DbError> {
        sqlx::query("UPDATE batches SET pdfs_purged_at = $1 WHERE batch_id = $2")
            .bind(now())
            .bind(batch_id)
            .execute(&self.pool)
            .await
            .map_err(ctx("recording purged PDFs"))?;
        Ok(())
    }

    /// Finished orders last changed before `before` whose personal data is still there.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn orders_to_pseudonymise(&self, before: &str) -> Result<Vec<String>, DbError> {
        let mut qb = QueryBuilder::new(
            self.engine,
            "SELECT order_id FROM orders WHERE pseudonymised_at IS NULL AND updated_at < ",
        );
        qb.push_bind(before.to_string());
        qb.push(" AND status IN (");
        let mut sep = qb.separated(", ");
        for s in OrderStatus::FINISHED {
            sep.push_bind(s.code());
        }
        qb.push(") ORDER BY order_id");
        qb.build_query_scalar()
            .fetch_all(&self.pool)
            .await
            .map_err(ctx("finding orders past retention"))
    }

    /// Removes an order's personal data (national id, address, details that may quote it); its
    /// status and event history stay.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn pseudonymise(&self, order_ids: &[String]) -> Result<(), DbError> {
        for chunk in order_ids.chunks(500) {
            let mut tx = self.begin_write().await?;
            let at = now();
            for id in chunk {
                sqlx::query(
                    "UPDATE orders SET national_id = 'pseudonymised', person_national_id = NULL, person_id = NULL, \
                     address = NULL, reason_detail = NULL, pseudonymised_at = $1 WHERE order_id = $2",
                )
                .bind(&at)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(ctx("pseudonymising an order"))?;
                sqlx::query("UPDATE letters SET person_id = NULL WHERE order_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(ctx("pseudonymising an order's letters"))?;
                sqlx::query(
                    "DELETE FROM letter_codes WHERE letter_id IN (SELECT letter_id FROM letters WHERE order_id = $1)",
                )
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(ctx("pseudonymising an order's letters"))?;
                insert_event(
                    &mut tx,
                    id,
                    &at,
                    "purge",
                    "pseudonymised",
                    None,
                    None,
                    Some("personal data removed after the retention period"),
                )
                .await?;
            }
            tx.commit()
                .await
                .map_err(ctx("committing pseudonymisation"))?;
        }
        Ok(())
    }

    /// A consistent copy of the whole database in a new file, safe while other runs read and
    /// write: SQLite's `VACUUM INTO` (a database file), or on PostgreSQL `pg_dump
    /// --format=custom` (restore with `pg_restore`). The file must not exist yet; it is made
    /// readable by its owner only before anything is written to it.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn backup_into(&self, path: &std::path::Path) -> Result<(), DbError> {
        match self.engine {
            Engine::Sqlite => {
                sqlx::query("VACUUM INTO $1")
                    .bind(path.display().to_string())
                    .execute(&self.pool)
                    .await
                    .map_err(ctx("writing the backup"))?;
            }
            Engine::Postgres => pg_dump(&self.url, path)?,
        }
        Ok(())
    }

    /// Deletes input-file errors recorded before `before` (their messages may quote input).
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn purge_input_errors(&self, before: &str, dry_run: bool) -> Result<i64, DbError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM input_errors WHERE at < $1")
            .bind(before)
            .fetch_one(&self.pool)
            .await
            .map_err(ctx("counting old input errors"))?;
        if !dry_run && n > 0 {
            sqlx::query("DELETE FROM input_errors WHERE at < $1")
                .bind(before)
                .execute(&self.pool)
                .await
                .map_err(ctx("deleting old input errors"))?;
        }
        Ok(n)
    }
}

/// Runs `pg_dump` into a new private file.
fn pg_dump(url: &str, path: &std::path::Path) -> Result<(), DbError> {
    use std::os::unix::fs::OpenOptionsExt;
    let backup_err = |message: String| DbError::Backup {
        file: path.to_path_buf(),
        message,
    };
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| backup_err(e.to_string()))?;
    let out = std::process::Command::new("pg_dump")
        .args(["--format=custom", "--no-password", "--file"])
        .arg(path)
        .arg(url)
        .output();
    let failed = match out {
        Ok(out) if out.status.success() => return Ok(()),
        Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_string(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => "pg_dump is not installed \
             (Debian: postgresql-client of the server's version); install it, or back the \
             database up with pg_dump yourself"
            .to_string(),
        Err(e) => format!("cannot run pg_dump: {e}"),
    };
    let _ = std::fs::remove_file(path);
    Err(backup_err(
        failed.replace(url, &super::without_password(url)),
    ))
}
