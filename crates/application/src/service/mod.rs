//! Service desk (V-1 … V-6).

pub mod canned_answers;
