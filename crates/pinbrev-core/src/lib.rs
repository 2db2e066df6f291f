//! pinbrev's core: the rules and domain types, free of any database and of any async runtime.
//! Cargo keeps the direction: this crate depends on no store, use case or command line; they
//! depend on it.
//!
//! So far it holds the leaves: identity numbers ([`national_id`]), Norwegian holidays
//! ([`holidays`]), countries for addresses abroad ([`countries`]), masking of free text
//! ([`free_text`]), the enums with text codes ([`codes`]), an order's types ([`order`]) and CPU
//! work on every core ([`parallel`]).

pub mod codes;
pub mod countries;
pub mod free_text;
pub mod holidays;
pub mod national_id;
pub mod order;
pub mod parallel;
