//! Letters (`letters`) and their code digests (`letter_codes`): what rendering a part needs,
//! storing a rendered part, and finding a letter.

use super::builder::QueryBuilder;
use super::{all_changed, code_col, col, ctx, json_rows, Db, DbError, Tx, ROWS_PER_STATEMENT};
use pinbrev_core::letter::{BatchState, LetterState};
use pinbrev_core::order::OrderStatus;

/// What rendering one letter needs, read from its order.
#[derive(Debug, Clone)]
pub struct LetterJob {
    pub letter_id: String,
    pub order_id: String,
    pub sequence: i64,
    pub language: String,
    /// The address block as JSON (see `address::AddressBlock`).
    pub address: String,
    pub postal_zone: String,
    pub postcode: Option<String>,
    pub country: String,
}

/// A validated order as [`Db::create_batch`] reads it, with what its letter needs: handed to
/// the caller as read, so that the letters can be rendered without reading the orders again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOrder<'a> {
    pub order_id: &'a str,
    pub language: Option<&'a str>,
    /// The address block as JSON.
    pub address: Option<&'a str>,
    pub postal_zone: Option<&'a str>,
    pub postcode: Option<&'a str>,
    pub country: Option<&'a str>,
}

impl LetterJob {
    /// The job of a letter for its order as read: an error naming the letter when the order
    /// lacks what a letter needs (it was validated, so it has it).
    pub fn new(
        letter_id: String,
        sequence: i64,
        order: BatchOrder<'_>,
    ) -> Result<LetterJob, DbError> {
        let missing = |what: &str| DbError::Corrupt {
            what: format!("letter {letter_id}"),
            message: format!("its order has no {what}"),
        };
        Ok(LetterJob {
            order_id: order.order_id.to_string(),
            sequence,
            language: order
                .language
                .ok_or_else(|| missing("letter language"))?
                .to_string(),
            address: order.address.ok_or_else(|| missing("address"))?.to_string(),
            postal_zone: order
                .postal_zone
                .ok_or_else(|| missing("postal zone"))?
                .to_string(),
            postcode: order.postcode.map(str::to_string),
            country: order.country.ok_or_else(|| missing("country"))?.to_string(),
            letter_id,
        })
    }
}

/// A rendered letter's place in the drop and its code digests.
#[derive(Debug, Clone)]
pub struct PartRecord {
    pub letter_id: String,
    pub sequence: i64,
    pub file: String,
    pub first_page: i64,
    pub digests: String,
}

/// A letter with its batch and order, for receipts, `pin verify` and `status`.
#[derive(Debug, Clone)]
pub struct LetterRef {
    pub letter_id: String,
    pub batch_id: String,
    pub batch_state: BatchState,
    pub order_id: String,
    pub state: LetterState,
    pub order_status: OrderStatus,
    pub pin_digests: Option<String>,
}

/// A letter as a vendor's receipt reads it.
#[derive(Debug, Clone)]
pub struct ReceiptLetter {
    /// The letter, without its code digests.
    pub letter: LetterRef,
    /// When the letter's batch was published; `None` before.
    pub published_at: Option<String>,
    /// The newest letter of the letter's order (this one, unless the order was reissued).
    pub newest_of_order: String,
}

impl Db {
    /// Letters of a batch with sequence in `from..=to`, in sequence order.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn batch_letters(
        &self,
        batch_id: &str,
        from: i64,
        to: i64,
    ) -> Result<Vec<LetterJob>, DbError> {
        type Row = (
            String,
            String,
            i64,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let rows = self.engine.rows_as_json(
            "l.letter_id, l.order_id, l.sequence, o.letter_language, o.address, o.postal_zone, \
             o.postcode, o.country",
        );
        let mut found: Vec<Row> = json_rows(
            &self.pool,
            sqlx::query(&format!(
                "SELECT {rows} FROM letters l JOIN orders o ON o.order_id = l.order_id \
                 WHERE l.batch_id = $1 AND l.sequence BETWEEN $2 AND $3"
            ))
            .bind(batch_id)
            .bind(from)
            .bind(to),
            "reading a batch's letters",
        )
        .await?;
        found.sort_unstable_by_key(|r| r.2);
        found
            .into_iter()
            .map(
                |(letter_id, order_id, sequence, language, address, zone, postcode, country)| {
                    LetterJob::new(
                        letter_id,
                        sequence,
                        BatchOrder {
                            order_id: &order_id,
                            language: language.as_deref(),
                            address: address.as_deref(),
                            postal_zone: zone.as_deref(),
                            postcode: postcode.as_deref(),
                            country: country.as_deref(),
                        },
                    )
                },
            )
            .collect()
    }

    /// Stores a part's code digests, in one transaction with the check that its letters are
    /// where the batch placed them. A letter cancelled while its part was rendered (`orders
    /// cancel` racing the night) is in the part all the same; it stays cancelled, so its codes
    /// never become valid.
    ///
    /// `records` are the part's letters in sequence order, without a gap.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn store_part(&self, batch_id: &str, records: &[PartRecord]) -> Result<(), DbError> {
        let mut tx = self.begin_write().await?;
        self.store_part_in(&mut tx, batch_id, records).await?;
        tx.commit().await.map_err(ctx("committing a part"))
    }

    /// [`Db::store_part`] within a transaction.
    pub(super) async fn store_part_in(
        &self,
        tx: &mut Tx,
        batch_id: &str,
        records: &[PartRecord],
    ) -> Result<(), DbError> {
        let (Some(first), Some(last)) = (records.first(), records.last()) else {
            return Ok(());
        };
        let contiguous = records.iter().enumerate().all(|(i, r)| {
            r.sequence == first.sequence + i as i64
                && r.first_page == i as i64 + 1
                && r.file == first.file
        });
        if !contiguous {
            return Err(DbError::Corrupt {
                what: format!("part {} of batch {batch_id}", first.file),
                message: "its letters are not one run of the batch's sequence".into(),
            });
        }
        let counts = sqlx::query(
            "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN file = $4 AND first_page = sequence - $2 + 1 \
             THEN 1 ELSE 0 END), 0) AS BIGINT) FROM letters \
             WHERE batch_id = $1 AND sequence BETWEEN $2 AND $3 AND state IN ($5, $6)",
        )
        .bind(batch_id)
        .bind(first.sequence)
        .bind(last.sequence)
        .bind(&first.file)
        .bind(LetterState::Pending.code())
        .bind(LetterState::Cancelled.code())
        .fetch_one(&mut **tx)
        .await
        .map_err(ctx("checking a part's letters"))?;
        let live: i64 = col(&counts, 0)?;
        let placed: i64 = col(&counts, 1)?;
        all_changed(
            live.max(0) as u64,
            records.len(),
            "letters.state",
            "letters of a part being stored were neither pending nor cancelled",
        )?;
        for chunk in records.chunks(ROWS_PER_STATEMENT) {
            // The batch placed every letter when it was made; only a part laid out otherwise
            // (the letters per file changed before an interrupted batch was resumed) moves them.
            if placed != live {
                let mut qb =
                    QueryBuilder::new(self.engine, "WITH part (letter_id, file, first_page) AS (");
                qb.push_values(chunk, |mut row, r| {
                    row.push_bind(&r.letter_id)
                        .push_bind(&r.file)
                        .push_bind(r.first_page);
                });
                qb.push(
                    ") UPDATE letters SET file = part.file, first_page = part.first_page FROM part \
                     WHERE letters.letter_id = part.letter_id",
                );
                qb.build()
                    .execute(&mut **tx)
                    .await
                    .map_err(ctx("storing a part's letters"))?;
            }
            // A part rendered again after a crash has new codes: they replace the old digests.
            let mut qb = QueryBuilder::new(
                self.engine,
                "INSERT INTO letter_codes (letter_id, pin_digests) ",
            );
            qb.push_values(chunk, |mut row, r| {
                row.push_bind(&r.letter_id).push_bind(&r.digests);
            });
            qb.push(" ON CONFLICT (letter_id) DO UPDATE SET pin_digests = excluded.pin_digests");
            qb.execute_rows(tx, chunk.len(), "storing a part's code digests")
                .await?;
        }
        Ok(())
    }

    /// A letter with its batch and order.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn letter(&self, letter_id: &str) -> Result<Option<LetterRef>, DbError> {
        letter_where(
            &self.pool,
            "l.letter_id = $1",
            letter_id,
            "reading a letter",
        )
        .await
    }

    /// The newest letter of an order, if it has one.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn latest_letter(&self, order_id: &str) -> Result<Option<LetterRef>, DbError> {
        letter_where(
            &self.pool,
            LATEST_OF_ORDER,
            order_id,
            "reading an order's letter",
        )
        .await
    }
}

/// The filter of [`Db::latest_letter`].
const LATEST_OF_ORDER: &str =
    "l.order_id = $1 ORDER BY l.created_at DESC, l.letter_id DESC LIMIT 1";

/// The first letter (with its batch and order) that `filter` (on `letters l`, with `$1` bound to
/// `key`) finds.
async fn letter_where(
    pool: &sqlx::AnyPool,
    filter: &str,
    key: &str,
    context: &'static str,
) -> Result<Option<LetterRef>, DbError> {
    let row = sqlx::query(&format!(
        "SELECT l.letter_id, l.batch_id, b.state, l.order_id, l.state, o.status, c.pin_digests \
         FROM letters l JOIN orders o ON o.order_id = l.order_id JOIN batches b ON b.batch_id = l.batch_id \
         LEFT JOIN letter_codes c ON c.letter_id = l.letter_id \
         WHERE {filter}"
    ))
    .bind(key)
    .fetch_optional(pool)
    .await
    .map_err(ctx(context))?;
    row.map(|r| letter_ref(&r)).transpose()
}

fn letter_ref(r: &sqlx::any::AnyRow) -> Result<LetterRef, DbError> {
    Ok(LetterRef {
        letter_id: col(r, 0)?,
        batch_id: col(r, 1)?,
        batch_state: code_col(r, 2, "batches.state")?,
        order_id: col(r, 3)?,
        state: code_col(r, 4, "letters.state")?,
        order_status: code_col(r, 5, "orders.status")?,
        pin_digests: col(r, 6)?,
    })
}
