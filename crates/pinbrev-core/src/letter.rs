//! The states of a letter and of a batch (a vendor drop), as the store keeps them, and what a
//! vendor's receipt does to a letter and its order.

use crate::code_enum;
use crate::order::OrderStatus;

code_enum! {
    /// A letter's state: whether its codes are valid.
    pub enum LetterState {
        /// Its batch is not published yet: the codes are not valid yet.
        Pending => "pending",
        /// Published: the codes are valid.
        Issued => "issued",
        /// The vendor could not print or post it: the codes never became usable.
        Failed => "failed",
        /// Came back undelivered: the codes stopped being valid.
        Returned => "returned",
        /// A newer letter to the same person was published: the codes stopped being valid.
        Superseded => "superseded",
        /// Its order was cancelled: the codes stopped being valid.
        Cancelled => "cancelled",
    }
}

code_enum! {
    /// A batch's state, as its drop is built and published.
    pub enum BatchState {
        /// Rows made, files being written in the hidden build folder.
        Building => "building",
        /// Every file complete in the hidden build folder.
        Written => "written",
        /// Renamed into place and `READY` written: the letters' codes are valid.
        Published => "published",
    }
}

impl LetterState {
    /// The states in which a letter's codes are (or will become) valid.
    pub const LIVE: [LetterState; 2] = [LetterState::Pending, LetterState::Issued];
}

code_enum! {
    /// A part of a batch rendered by workers (PostgreSQL), as it is claimed and done.
    pub enum PartState {
        /// Waiting for a worker.
        Planned => "planned",
        /// A worker renders it, under a lease.
        Claimed => "claimed",
        /// Rendered, written and its codes stored.
        Done => "done",
    }
}

code_enum! {
    /// What the vendor reports about a letter.
    pub enum ReceiptEvent {
        Printed => "printed",
        Posted => "posted",
        Failed => "failed",
        Returned => "returned",
    }
}

impl ReceiptEvent {
    /// From which order statuses the event moves the order, to which status, and the letter's
    /// new state (when its codes stop being valid).
    pub fn transition(self) -> (&'static [OrderStatus], OrderStatus, Option<LetterState>) {
        use OrderStatus::*;
        match self {
            ReceiptEvent::Printed => (&[Batched], Printed, None),
            ReceiptEvent::Posted => (&[Batched, Printed], Posted, None),
            // The letter never left the vendor: its codes die, the order waits for the next batch.
            ReceiptEvent::Failed => (&[Batched, Printed], Validated, Some(LetterState::Failed)),
            // Back from an address where the person does not live: someone may have opened it.
            ReceiptEvent::Returned => (
                &[Batched, Printed, Posted],
                Returned,
                Some(LetterState::Returned),
            ),
        }
    }
}

/// An issued letter of a person whom a new letter (of a batch being published) is written to,
/// as the store finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarlierLetter {
    /// The new letter's place in its batch.
    pub new_sequence: i64,
    pub new_letter: String,
    pub new_order: String,
    pub old_letter: String,
    pub old_order: String,
}

/// What publishing a new letter does to an earlier one of the same person: its codes stop being
/// valid (`superseded`, by the new letter), and its order, when it is another order than the new
/// letter's, becomes `superseded` too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supersession {
    pub old_letter: String,
    pub by_letter: String,
    /// The earlier letter's order, when it moves to `superseded`.
    pub old_order: Option<String>,
    /// The event's detail.
    pub detail: String,
}

/// The statuses an order may be in when its letter is superseded.
pub const SUPERSEDABLE: [OrderStatus; 4] = [
    OrderStatus::Batched,
    OrderStatus::Printed,
    OrderStatus::Posted,
    OrderStatus::Returned,
];

/// The supersessions of a batch's publication: each earlier letter once, by the first new letter
/// (in the batch's sequence) written to its person.
pub fn supersessions(mut found: Vec<EarlierLetter>) -> Vec<Supersession> {
    found.sort_by(|a, b| (a.new_sequence, &a.old_letter).cmp(&(b.new_sequence, &b.old_letter)));
    let mut done = std::collections::HashSet::new();
    found
        .into_iter()
        .filter(|f| done.insert(f.old_letter.clone()))
        .map(|f| Supersession {
            detail: format!("letter {} superseded by {}", f.old_letter, f.new_letter),
            old_order: (f.old_order != f.new_order).then_some(f.old_order),
            old_letter: f.old_letter,
            by_letter: f.new_letter,
        })
        .collect()
}

/// Where a letter of a batch goes in the drop: its part (from 1) and its page in that part's
/// file (from 1), when every part holds `per_file` letters of one page each, in sequence order.
pub fn place_in_drop(sequence: i64, per_file: i64) -> (i64, i64) {
    let per_file = per_file.max(1);
    ((sequence - 1) / per_file + 1, (sequence - 1) % per_file + 1)
}

/// The PDF file of a part of the drop.
pub fn part_file_name(part: i64) -> String {
    format!("letters-{part:04}.pdf")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(seq: i64, new: &str, new_order: &str, old: &str, old_order: &str) -> EarlierLetter {
        EarlierLetter {
            new_sequence: seq,
            new_letter: new.into(),
            new_order: new_order.into(),
            old_letter: old.into(),
            old_order: old_order.into(),
        }
    }

    #[test]
    fn the_first_new_letter_supersedes_each_earlier_one_once() {
        let s = supersessions(vec![
            // Two new letters to the same person (two numbers), both finding the old letter.
            found(7, "B2-000007", "WEB-3", "B1-000001", "WEB-1"),
            found(2, "B2-000002", "WEB-2", "B1-000001", "WEB-1"),
            // A reissued order: its own earlier letter; the order stays.
            found(5, "B2-000005", "WEB-4", "B1-000009", "WEB-4"),
        ]);
        assert_eq!(
            s,
            vec![
                Supersession {
                    old_letter: "B1-000001".into(),
                    by_letter: "B2-000002".into(),
                    old_order: Some("WEB-1".into()),
                    detail: "letter B1-000001 superseded by B2-000002".into(),
                },
                Supersession {
                    old_letter: "B1-000009".into(),
                    by_letter: "B2-000005".into(),
                    old_order: None,
                    detail: "letter B1-000009 superseded by B2-000005".into(),
                },
            ]
        );
    }

    #[test]
    fn superseded_orders_move_as_the_transition_table_allows() {
        for status in SUPERSEDABLE {
            assert!(status.may_become(OrderStatus::Superseded), "{status}");
        }
    }

    #[test]
    fn every_receipt_moves_orders_only_as_the_transition_table_allows() {
        for event in ReceiptEvent::ALL {
            let (from, to, _) = event.transition();
            assert!(!from.is_empty(), "{event}");
            for status in from {
                assert!(status.may_become(to), "{event}: {status} -> {to}");
            }
        }
    }

    #[test]
    fn letters_fill_parts_in_sequence_order() {
        assert_eq!(place_in_drop(1, 5000), (1, 1));
        assert_eq!(place_in_drop(5000, 5000), (1, 5000));
        assert_eq!(place_in_drop(5001, 5000), (2, 1));
        assert_eq!(place_in_drop(12345, 5000), (3, 2345));
        assert_eq!(place_in_drop(3, 1), (3, 1));
        assert_eq!(place_in_drop(3, 0), (3, 1), "at least one letter to a part");
        assert_eq!(part_file_name(2), "letters-0002.pdf");
    }
}
