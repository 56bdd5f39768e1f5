//! Feedback (F-1..F-3): what customers say of the business, gathered in one place —
//! survey answers, reviews, ticket satisfaction answers and texts marked as feedback —
//! with what counts as negative and what that does (`entries`), the surveys that ask
//! for it (`surveys`), and the SERVQUAL expectation model (`servqual`).

pub mod entries;
pub mod reports;
pub mod servqual;
pub mod surveys;
