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
