//! `pinbrev report`: the store's rows of the orders placed since a point in time, turned into the
//! report by the rules in [`pinbrev_core::report`] (deadlines, breaches, ordering); the HTML
//! page is [`pinbrev_core::report_html`].

use chrono::{DateTime, Utc};

use crate::db::{Db, DbError, TempStore};
use crate::orders::timestamp;
pub use pinbrev_core::report::*;
pub use pinbrev_core::report_html;

/// Reads the report of orders placed at or after `since`, as of `now`.
pub async fn generate(
    db: &Db,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Report, DbError> {
    // The report's sorts and groupings go through up to every order of the period: on disk
    // (files without a name), not in this process's memory.
    db.keep_temporary_data(TempStore::Disk).await?;
    let data = db
        .report_data(&timestamp(since), &NOT_JUDGED, SlaJudge::new(now))
        .await?;
    build(data, since, now)
        .map_err(|ReportError::BadTime { what, message }| DbError::Corrupt { what, message })
}
