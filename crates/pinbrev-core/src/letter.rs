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

/// How a batch's letters (one page each, in sequence order) are cut into the drop's parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartLayout {
    /// At most this many letters to a part (at least one).
    pub per_file: i64,
    /// For a vendor that posts letters abroad as a mail stream of its own: the sequence of the
    /// last domestic letter (domestic letters come first in the presort order), after which a
    /// new part begins, so that no part holds both.
    pub split_after: Option<i64>,
}

impl PartLayout {
    /// Parts of `per_file` letters, domestic and abroad together.
    pub fn new(per_file: i64) -> PartLayout {
        PartLayout {
            per_file: per_file.max(1),
            split_after: None,
        }
    }

    /// Parts of `per_file` letters, the abroad letters (those after the first `domestic`) in
    /// parts of their own.
    pub fn split(per_file: i64, domestic: i64) -> PartLayout {
        PartLayout {
            split_after: Some(domestic.max(0)),
            ..PartLayout::new(per_file)
        }
    }

    /// Where a letter goes in the drop: its part (from 1) and its page in that part's file
    /// (from 1).
    pub fn place(&self, sequence: i64) -> (i64, i64) {
        let per_file = self.per_file.max(1);
        match self.split_after {
            Some(domestic) if sequence > domestic => {
                let (part, page) = PartLayout::new(per_file).place(sequence - domestic);
                ((domestic + per_file - 1) / per_file + part, page)
            }
            _ => ((sequence - 1) / per_file + 1, (sequence - 1) % per_file + 1),
        }
    }

    /// The parts of a batch of `letters` letters: each part's first and last sequence, in order.
    pub fn ranges(&self, letters: i64) -> Vec<(i64, i64)> {
        let mut ranges: Vec<(i64, i64)> = Vec::new();
        for sequence in 1..=letters {
            let (part, _) = self.place(sequence);
            if part as usize == ranges.len() {
                if let Some(last) = ranges.last_mut() {
                    last.1 = sequence;
                }
            } else {
                ranges.push((sequence, sequence));
            }
        }
        ranges
    }
}

/// The id of a batch's letter: the batch, then the letter's place in it.
pub fn letter_id(batch_id: &str, sequence: i64) -> String {
    format!("{batch_id}-{sequence:06}")
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
        let place = |sequence, per_file| PartLayout::new(per_file).place(sequence);
        assert_eq!(place(1, 5000), (1, 1));
        assert_eq!(place(5000, 5000), (1, 5000));
        assert_eq!(place(5001, 5000), (2, 1));
        assert_eq!(place(12345, 5000), (3, 2345));
        assert_eq!(place(3, 1), (3, 1));
        assert_eq!(place(3, 0), (3, 1), "at least one letter to a part");
        assert_eq!(part_file_name(2), "letters-0002.pdf");
        assert_eq!(
            PartLayout::new(5000).ranges(12345),
            [(1, 5000), (5001, 10000), (10001, 12345)]
        );
    }

    #[test]
    fn abroad_letters_start_a_part_of_their_own() {
        // 7 domestic, 5 abroad, 3 to a part: 1-3, 4-6, 7 | 8-10, 11-12.
        let l = PartLayout::split(3, 7);
        assert_eq!(l.ranges(12), [(1, 3), (4, 6), (7, 7), (8, 10), (11, 12)]);
        assert_eq!(l.place(7), (3, 1));
        assert_eq!(l.place(8), (4, 1));
        assert_eq!(l.place(12), (5, 2));
        // A boundary that falls on a part's end changes nothing.
        assert_eq!(
            PartLayout::split(3, 6).ranges(8),
            PartLayout::new(3).ranges(8)
        );
        // Only domestic, or only abroad, letters: one stream.
        assert_eq!(
            PartLayout::split(3, 8).ranges(8),
            PartLayout::new(3).ranges(8)
        );
        assert_eq!(
            PartLayout::split(3, 0).ranges(8),
            PartLayout::new(3).ranges(8)
        );
    }

    proptest::proptest! {
        #[test]
        fn parts_cover_every_letter_once_and_never_mix_streams(
            letters in 0i64..300, per_file in 1i64..40, domestic in 0i64..300
        ) {
            let domestic = domestic.min(letters);
            let l = PartLayout::split(per_file, domestic);
            let ranges = l.ranges(letters);
            let mut next = 1;
            for (i, (first, last)) in ranges.iter().enumerate() {
                proptest::prop_assert_eq!(*first, next);
                proptest::prop_assert!(last - first < per_file);
                proptest::prop_assert!(*last <= domestic || *first > domestic);
                for sequence in *first..=*last {
                    proptest::prop_assert_eq!(l.place(sequence), (i as i64 + 1, sequence - first + 1));
                }
                next = last + 1;
            }
            proptest::prop_assert_eq!(next, letters + 1);
        }
    }
}
