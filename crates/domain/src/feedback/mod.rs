//! Feedback from customers beyond the one-question ticket survey of
//! [`crate::service::surveys`]: service-quality expectation surveys (F-3).

pub mod servqual;
