//! Commerce use cases (S-8, C-7, C-8): the catalogue, orders and returns, their imports
//! and exports, and what purchases do to a customer: its purchase facts and lifecycle
//! stage.

pub mod catalogue;
pub mod lifecycle;
pub mod order_export;
pub mod order_import;
pub mod orders;
pub mod product_import;
pub mod returns;
