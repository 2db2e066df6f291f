//! pinbrev: batch fulfilment of MinID PIN-code letters for Norway.
//!
//! Orders come in as CSV ([`orders`]), people from Folkeregister extracts ([`register`]); each
//! order is validated against the register ([`validation`], [`address`]) and its whole life is
//! kept in the database ([`db`]). The command line lives in [`cli`].

pub mod cli;
pub mod csv_input;
pub mod csv_output;
pub mod db;
pub mod diagnostics;
pub mod drop;
pub mod external_sort;
mod failpoint;
pub mod files;
pub mod lock;
pub mod nightly;
pub mod orders;
pub mod pin;
pub mod postcodes;
pub mod progress;
pub mod purge;
pub mod receipts;
pub mod register;
pub mod report;
pub mod row_errors;
pub mod settings;
pub mod validation;

// The core's modules, under the names the rest of pinbrev has always used.
pub use pinbrev_core::{
    address, code_enum, codes, countries, free_text, freg, holidays, input_error, letter, letters,
    local_time, national_id, parallel, wording,
};
