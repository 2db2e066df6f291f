//! An order's domain types: its statuses, reject reasons, channel and language (the contract's
//! codes), its id, an order as read before it is stored, and the stored form of its times.

use chrono::{DateTime, LocalResult, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use chrono_tz::Europe::Oslo;
use serde::Serialize;

use crate::code_enum;
use crate::free_text::quote;

code_enum! {
    /// Where an order's life stands. See the contract's "Order statuses".
    pub enum OrderStatus {
        Received => "received",
        Validated => "validated",
        Rejected => "rejected",
        Held => "held",
        Duplicate => "duplicate",
        Cancelled => "cancelled",
        Batched => "batched",
        Printed => "printed",
        Posted => "posted",
        Returned => "returned",
        Superseded => "superseded",
    }
}

impl OrderStatus {
    /// Statuses in which an order still waits for or travels with its letter.
    pub const ACTIVE: [OrderStatus; 3] = [
        OrderStatus::Validated,
        OrderStatus::Batched,
        OrderStatus::Printed,
    ];

    /// Statuses an operator may cancel an order from: until its letter is posted.
    pub const CANCELLABLE: [OrderStatus; 5] = [
        OrderStatus::Received,
        OrderStatus::Validated,
        OrderStatus::Held,
        OrderStatus::Batched,
        OrderStatus::Printed,
    ];

    /// Statuses of orders that are finished: nothing more will happen to them.
    pub const FINISHED: [OrderStatus; 5] = [
        OrderStatus::Posted,
        OrderStatus::Superseded,
        OrderStatus::Rejected,
        OrderStatus::Duplicate,
        OrderStatus::Cancelled,
    ];

    /// The transition table: the statuses that may follow this one. The contract's status graph,
    /// and what pinbrev adds to it: an operator cancels an order until it is posted, a vendor's
    /// receipt may skip a step (`posted` or `returned` straight from `batched`), `failed` sends
    /// the order back to `validated`, and `orders reissue` reopens a posted or returned order.
    pub fn next(self) -> &'static [OrderStatus] {
        use OrderStatus::*;
        match self {
            Received => &[Validated, Rejected, Held, Duplicate, Cancelled],
            Validated => &[Batched, Cancelled],
            Held => &[Cancelled],
            Batched => &[Printed, Posted, Returned, Validated, Cancelled, Superseded],
            Printed => &[Posted, Returned, Validated, Cancelled, Superseded],
            Posted => &[Returned, Superseded, Received],
            Returned => &[Superseded, Received],
            Rejected | Duplicate | Cancelled | Superseded => &[],
        }
    }

    /// Whether `to` may follow this status ([`OrderStatus::next`]).
    pub fn may_become(self, to: OrderStatus) -> bool {
        self.next().contains(&to)
    }
}

code_enum! {
    /// Why an order was rejected, held or marked duplicate (the contract's reason codes).
    pub enum RejectReason {
        InvalidNationalId => "invalid_national_id",
        HNumber => "h_number",
        UnknownPerson => "unknown_person",
        AddressProtected => "address_protected",
        Deceased => "deceased",
        /// The register marks the identity as false (`falskIdentitet.erFalsk`).
        FalseIdentity => "false_identity",
        IdentityCeased => "identity_ceased",
        IdentityInactive => "identity_inactive",
        PersonMissing => "person_missing",
        TooYoung => "too_young",
        NoPostalAddress => "no_postal_address",
        UnknownPostcode => "unknown_postcode",
        PostcodePlaceMismatch => "postcode_place_mismatch",
        PostcodeCategory => "postcode_category",
        InvalidForeignAddress => "invalid_foreign_address",
        AddressTooLong => "address_too_long",
        /// Extension of the contract: the address has characters the letter's font cannot
        /// print (e.g. CJK), so no correct letter can be made.
        UnprintableCharacters => "unprintable_characters",
        Duplicate => "duplicate",
        ReorderLimit => "reorder_limit",
    }
}

code_enum! {
    /// How the citizen placed the order.
    pub enum Channel {
        Web => "web",
        Sms => "sms",
        Phone => "phone",
        Support => "support",
    }
}

code_enum! {
    /// Language of the letter.
    pub enum Language {
        Nb => "nb",
        Nn => "nn",
        En => "en",
    }
}

/// An order id: 1–64 of `A-Z a-z 0-9 . _ -`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct OrderId(String);

impl OrderId {
    /// Checks the contract's form of an order id.
    pub fn parse(s: &str) -> Result<OrderId, String> {
        if s.is_empty() || s.len() > 64 {
            return Err(OrderId::length_error(s.chars().count() as u64));
        }
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        {
            return Err(format!(
                "character {c:?} is not allowed (only A-Z a-z 0-9 . _ -)"
            ));
        }
        Ok(OrderId(s.to_string()))
    }

    /// What is wrong with an order id of `chars` characters, too long or empty (for a field
    /// read only in part, whose length was counted where it was read).
    pub fn length_error(chars: u64) -> String {
        format!("must be 1-64 characters, is {chars}")
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for OrderId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An order as read from a file, before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrder {
    pub order_id: OrderId,
    /// The national id as given, with the tolerated separators removed when it is otherwise
    /// well-formed. Checked at validation, so that a wrong number is kept and can be explained.
    pub national_id: String,
    pub ordered_at: DateTime<Utc>,
    pub channel: Channel,
    pub language: Option<Language>,
    pub line: u64,
}

impl NewOrder {
    /// `ordered_at` in the stored form: UTC with fixed microseconds, so text order is time order.
    pub fn ordered_at_text(&self) -> String {
        timestamp(self.ordered_at)
    }
}

/// The stored text form of a point in time.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Parses `ordered_at`: RFC 3339 with `T` or a space; without an offset it is Oslo local time.
pub fn parse_ordered_at(s: &str) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    let with_t = if s.len() > 10 && s.as_bytes()[10] == b' ' {
        format!("{}T{}", &s[..10], &s[11..])
    } else {
        s.to_string()
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(&with_t) {
        return Ok(t.with_timezone(&Utc));
    }
    let naive = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(&with_t, f).ok())
        .ok_or_else(|| format!("{} is not an RFC 3339 date and time", quote(s)))?;
    match Oslo.from_local_datetime(&naive) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        // In the autumn hour that occurs twice, take the first (summer time) reading.
        LocalResult::Ambiguous(first, _) => Ok(first.with_timezone(&Utc)),
        LocalResult::None => Err(format!(
            "{} does not exist in Europe/Oslo (clocks skip that hour)",
            quote(s)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_contracts_status_graph_is_in_the_table() {
        use OrderStatus::*;
        // CONTRACT.md, "Order statuses", arrow by arrow.
        let contract = [
            (Received, Validated),
            (Received, Rejected),
            (Received, Held),
            (Received, Duplicate),
            (Received, Cancelled),
            (Validated, Batched),
            (Batched, Printed),
            (Printed, Posted),
            (Posted, Returned),
            // `failed` (vendor) goes back to `validated` for the next batch.
            (Batched, Validated),
            (Printed, Validated),
            // A letter superseded by a newer one.
            (Posted, Superseded),
        ];
        for (from, to) in contract {
            assert!(from.may_become(to), "{from} -> {to}");
        }
    }

    #[test]
    fn the_table_has_no_other_ways_in_or_out() {
        use OrderStatus::*;
        // Validation's outcomes are final for the order, and so are cancel and supersede.
        for end in [Rejected, Duplicate, Cancelled, Superseded] {
            assert!(end.next().is_empty(), "{end} is final");
        }
        // Only a reissue takes an order back to `received`, and only from posted or returned.
        let back: Vec<OrderStatus> = OrderStatus::ALL
            .iter()
            .copied()
            .filter(|s| s.may_become(Received))
            .collect();
        assert_eq!(back, [Posted, Returned]);
        // Nothing becomes itself, and every status can be reached from `received`.
        let mut reached = vec![Received];
        let mut i = 0;
        while i < reached.len() {
            for &next in reached[i].next() {
                assert_ne!(next, reached[i]);
                if !reached.contains(&next) {
                    reached.push(next);
                }
            }
            i += 1;
        }
        assert_eq!(reached.len(), OrderStatus::ALL.len(), "{reached:?}");
    }

    #[test]
    fn oslo_time_and_dst() {
        assert_eq!(
            timestamp(parse_ordered_at("2026-07-01 12:00:00").unwrap()),
            "2026-07-01T10:00:00.000000Z"
        );
        assert_eq!(
            timestamp(parse_ordered_at("2026-07-01T12:00:00Z").unwrap()),
            "2026-07-01T12:00:00.000000Z"
        );
        assert!(parse_ordered_at("2026-03-29 02:30:00").is_err());
        assert!(parse_ordered_at("2026-10-25 02:30:00").is_ok());
    }

    #[test]
    fn order_ids() {
        assert!(OrderId::parse("WEB-2026.11_23").is_ok());
        assert!(OrderId::parse(&"a".repeat(64)).is_ok());
        assert!(OrderId::parse(&"a".repeat(65)).is_err());
        assert!(OrderId::parse("æ").is_err());
    }

    proptest! {
        #[test]
        fn valid_order_ids_roundtrip(s in "[A-Za-z0-9._-]{1,64}") {
            let id = OrderId::parse(&s).unwrap();
            prop_assert_eq!(id.as_str(), s.as_str());
        }

        #[test]
        fn rfc3339_roundtrip(secs in 0i64..4_000_000_000) {
            let t = DateTime::<Utc>::from_timestamp(secs, 0).unwrap();
            prop_assert_eq!(parse_ordered_at(&t.to_rfc3339()).unwrap(), t);
            let spaced = t.to_rfc3339().replacen('T', " ", 1);
            prop_assert_eq!(parse_ordered_at(&spaced).unwrap(), t);
        }
    }

    #[test]
    fn cancelling_moves_orders_only_as_the_transition_table_allows() {
        for status in OrderStatus::CANCELLABLE {
            assert!(status.may_become(OrderStatus::Cancelled), "{status}");
        }
        for status in OrderStatus::ALL {
            if !OrderStatus::CANCELLABLE.contains(status) && *status != OrderStatus::Cancelled {
                assert!(
                    OrderStatus::FINISHED.contains(status) || *status == OrderStatus::Returned,
                    "{status} may be neither cancelled nor is it finished"
                );
            }
        }
    }
}
