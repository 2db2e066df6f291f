//! pinbrev: batch fulfilment of MinID PIN-code letters for Norway.
//!
//! Orders come in as CSV ([`orders`]), people from Folkeregister extracts ([`register`]); each
//! order is validated against the register ([`validation`], [`address`]) and its whole life is
//! kept in the database ([`db`]). The command line lives in [`cli`].

pub mod address;
pub mod cli;
pub mod codes;
pub mod countries;
pub mod csv_input;
pub mod csv_output;
pub mod db;
pub mod drop;
pub mod files;
pub mod free_text;
pub mod holidays;
pub mod input_error;
pub mod letters;
pub mod lock;
pub mod national_id;
pub mod nightly;
pub mod orders;
pub mod parallel;
pub mod pin;
pub mod postcodes;
pub mod progress;
pub mod purge;
pub mod receipts;
pub mod register;
pub mod report;
pub mod settings;
pub mod validation;
