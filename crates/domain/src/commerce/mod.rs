//! Commerce (S-8): the product catalogue, orders with their lines, returns and the
//! purchase facts and lifecycle rules that follow from them (C-8). Amounts are integer
//! minor units of one currency ([`money`]); every sum here is checked, so an amount
//! too large for 64 bits is a validation error rather than a wrapped number.

pub mod lifecycle;
pub mod money;
pub mod order_sheet;
pub mod orders;
pub mod products;
pub mod returns;

pub use money::Currency;
