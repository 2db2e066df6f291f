//! The history of every order (`order_events`), kept forever.

use serde::Serialize;

use super::{col, ctx, Db, DbError, Tx};
use pinbrev_core::free_text;
use pinbrev_core::order::OrderStatus;

/// One event of an order's life.
#[derive(Debug, Clone, Serialize)]
pub struct EventRow {
    pub at: String,
    pub actor: String,
    pub event: String,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub detail: Option<String>,
}

impl Db {
    /// The events of an order, oldest first.
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    pub async fn events(&self, order_id: &str) -> Result<Vec<EventRow>, DbError> {
        let rows = sqlx::query("SELECT at, actor, event, from_status, to_status, detail FROM order_events WHERE order_id = $1 ORDER BY event_id")
            .bind(order_id)
            .fetch_all(&self.pool)
            .await
            .map_err(ctx("reading an order's events"))?;
        rows.iter()
            .map(|r| {
                Ok(EventRow {
                    at: col(r, 0)?,
                    actor: col(r, 1)?,
                    event: col(r, 2)?,
                    from_status: col(r, 3)?,
                    to_status: col(r, 4)?,
                    detail: col(r, 5)?,
                })
            })
            .collect()
    }
}

#[allow(clippy::too_many_arguments)]
#[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
pub(super) async fn insert_event(
    tx: &mut Tx,
    order_id: &str,
    at: &str,
    actor: &str,
    event: &str,
    from: Option<OrderStatus>,
    to: Option<OrderStatus>,
    detail: Option<&str>,
) -> Result<(), DbError> {
    sqlx::query("INSERT INTO order_events (order_id, at, actor, event, from_status, to_status, detail) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(order_id)
        .bind(at)
        .bind(actor)
        .bind(event)
        .bind(from.map(|s| s.code()))
        .bind(to.map(|s| s.code()))
        // Details may carry an operator's or a vendor's words: kept only masked and capped.
        .bind(detail.map(free_text::clean))
        .execute(&mut **tx)
        .await
        .map_err(ctx("storing an order event"))?;
    Ok(())
}
