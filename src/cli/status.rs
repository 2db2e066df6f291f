//! `pinbrev status ORDER_ID | --national-id ID`: one order's life with every event.

use clap::Args;
use serde::Serialize;

use super::output::{self, ItemFormat};
use super::{Context, Exit};
use crate::db::{Db, EventRow, OrderRow};
use crate::local_time;
use crate::national_id::{compact, mask};
use crate::orders::OrderStatus;

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("which").required(true))]
#[command(
    after_help = "Examples:\n  pinbrev status WEB-20261123-0001\n  pinbrev status --national-id \"$NATIONAL_ID\" --format json"
)]
pub struct StatusArgs {
    /// The order id.
    #[arg(group = "which")]
    order_id: Option<String>,
    /// The person's national id: shows their most recent order (and lists the others).
    #[arg(long, group = "which", value_name = "ID")]
    national_id: Option<String>,
    /// text for reading, json for tools (national ids masked in both).
    #[arg(long, value_enum, default_value_t = ItemFormat::Text)]
    format: ItemFormat,
}

#[derive(Debug, Serialize)]
struct Event {
    at: String,
    event: String,
    detail: Option<String>,
    actor: String,
    from_status: Option<String>,
    to_status: Option<String>,
}

#[derive(Debug, Serialize)]
struct OtherOrder {
    order_id: String,
    status: OrderStatus,
    ordered_at: String,
}

#[derive(Debug, Serialize)]
struct Status {
    order_id: String,
    status: OrderStatus,
    reason: Option<String>,
    reason_detail: Option<String>,
    national_id: String,
    ordered_at: String,
    channel: String,
    language: Option<String>,
    postal_zone: Option<String>,
    country: Option<String>,
    letter_id: Option<String>,
    /// pending, issued (codes valid), failed, returned or superseded.
    letter_state: Option<pinbrev_core::letter::LetterState>,
    batch_id: Option<String>,
    source: String,
    events: Vec<Event>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    other_orders: Vec<OtherOrder>,
}

async fn describe(db: &Db, o: &OrderRow, others: Vec<OtherOrder>) -> anyhow::Result<Status> {
    let events = db
        .events(&o.order_id)
        .await?
        .into_iter()
        .map(|e: EventRow| Event {
            at: e.at,
            event: e.event,
            detail: e.detail,
            actor: e.actor,
            from_status: e.from_status,
            to_status: e.to_status,
        })
        .collect();
    let letter = db.latest_letter(&o.order_id).await?;
    Ok(Status {
        order_id: o.order_id.clone(),
        status: o.status,
        reason: o.reason.clone(),
        reason_detail: o.reason_detail.clone(),
        national_id: mask(&o.national_id),
        ordered_at: o.ordered_at.clone(),
        channel: o.channel.clone(),
        language: o.letter_language.clone().or(o.language.clone()),
        postal_zone: o.postal_zone.clone(),
        country: o.country.clone(),
        letter_id: letter.as_ref().map(|l| l.letter_id.clone()),
        letter_state: letter.as_ref().map(|l| l.state),
        batch_id: letter.as_ref().map(|l| l.batch_id.clone()),
        source: format!("{}:{}", o.source_file, o.source_line),
        events,
        other_orders: others,
    })
}

pub async fn run(ctx: &Context, args: StatusArgs) -> anyhow::Result<Exit> {
    let db = ctx.existing_db().await?;
    let found = match (&args.order_id, &args.national_id) {
        (Some(id), _) => match db.order(id).await? {
            Some(o) => Some(describe(&db, &o, Vec::new()).await?),
            None => {
                crate::diagnostics::error(&format!("no order {}", crate::free_text::quote(id)));
                None
            }
        },
        (None, Some(raw)) => {
            let number = compact(raw).unwrap_or_else(|| raw.trim().to_string());
            let mut orders = db.orders_of_national_id(&number).await?;
            match orders.pop() {
                Some(latest) => {
                    let others = orders
                        .into_iter()
                        .rev()
                        .map(|o| OtherOrder {
                            order_id: o.order_id,
                            status: o.status,
                            ordered_at: o.ordered_at,
                        })
                        .collect();
                    Some(describe(&db, &latest, others).await?)
                }
                None => {
                    crate::diagnostics::error(&format!(
                        "no orders for national id {}",
                        mask(&number)
                    ));
                    None
                }
            }
        }
        (None, None) => unreachable!("clap requires one of them"),
    };
    db.close().await;
    let Some(status) = found else {
        return Ok(Exit::Failed);
    };
    match args.format {
        ItemFormat::Json => output::json(&status)?,
        ItemFormat::Text => print_text(&status),
    }
    Ok(Exit::Done)
}

fn print_text(s: &Status) {
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    println!("order        {}", s.order_id);
    println!("status       {}", s.status);
    match (&s.reason, &s.reason_detail) {
        (Some(r), Some(d)) => println!("reason       {r} ({d})"),
        (Some(r), None) => println!("reason       {r}"),
        _ => println!("reason       -"),
    }
    println!("national id  {}", s.national_id);
    println!("ordered at   {}", local_time::show(&s.ordered_at));
    println!("channel      {}", s.channel);
    println!("language     {}", dash(&s.language));
    println!(
        "destination  {}",
        match (&s.postal_zone, &s.country) {
            (Some(z), Some(c)) => format!("{z} ({c})"),
            _ => "-".into(),
        }
    );
    println!(
        "letter       {}",
        match (&s.letter_id, &s.letter_state) {
            (Some(l), Some(st)) => format!("{l} ({st})"),
            _ => "-".into(),
        }
    );
    println!("batch        {}", dash(&s.batch_id));
    println!("source       {}", s.source);
    println!("events");
    for e in &s.events {
        println!(
            "  {}  {:<10} {:<10} {}",
            local_time::show(&e.at),
            e.actor,
            e.event,
            e.detail.as_deref().unwrap_or("")
        );
    }
    if !s.other_orders.is_empty() {
        println!("other orders of this person");
        for o in &s.other_orders {
            println!(
                "  {}  {}  {}",
                o.order_id,
                o.status,
                local_time::show(&o.ordered_at)
            );
        }
    }
}
