//! Commerce use cases (S-8, C-7, C-8): the catalogue, orders and returns, and what
//! purchases do to a customer: its purchase facts and lifecycle stage.

pub mod catalogue;
pub mod lifecycle;
pub mod order_export;
pub mod orders;
pub mod product_import;
pub mod returns;
