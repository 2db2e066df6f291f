//! pinbrev's core: the rules and domain types, free of any database and of any async runtime.
//! Cargo keeps the direction: this crate depends on no store, use case or command line; they
//! depend on it.
//!
//! It holds identity numbers ([`national_id`]), Norwegian holidays ([`holidays`]), countries for
//! addresses abroad ([`countries`]), masking of free text ([`free_text`]), the enums with text
//! codes ([`codes`]), an order's types ([`order`]), times and counts as people read them ([`local_time`],
//! [`wording`]), the Folkeregister's person documents
//! ([`freg`]), input files' line errors ([`input_error`]) and CPU work on every core
//! ([`parallel`]).

pub mod address;
pub mod codes;
pub mod countries;
pub mod free_text;
pub mod freg;
pub mod holidays;
pub mod input_error;
pub mod letter;
pub mod letters;
pub mod local_time;
pub mod national_id;
pub mod order;
pub mod parallel;
pub mod pin;
pub mod postcodes;
pub mod report;
pub mod report_html;
pub mod validation;
pub mod wording;
