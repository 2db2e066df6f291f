//! `pinbrev report`: the store's rows of the orders placed since a point in time, turned into the
//! report by the rules in [`pinbrev_core::report`] (deadlines, breaches, ordering); the HTML
//! page is [`pinbrev_core::report_html`].

use chrono::{DateTime, Utc};

use crate::db::{Db, DbError};
use crate::orders::timestamp;
pub use pinbrev_core::report::*;
pub use pinbrev_core::report_html;

/// Reads the report of orders placed at or after `since`, as of `now`.
pub async fn generate(
    db: &Db,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Report, DbError> {
    let data = db.report_data(&timestamp(since), &NOT_JUDGED).await?;
    build(data, since, now)
        .map_err(|ReportError::BadTime { what, message }| DbError::Corrupt { what, message })
}
