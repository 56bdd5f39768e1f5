use thiserror::Error;

/// Everything that can go wrong in an analytics computation.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum AnalyticsError {
    /// The model has nothing to be fit on.
    #[error("no usable data: {0}")]
    NoData(&'static str),
    /// One input row is not acceptable; `index` is its zero-based position in the input.
    #[error("invalid input at row {index}: {reason}")]
    InvalidInput { index: usize, reason: String },
    /// A caller-supplied setting is out of its domain.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParameter { name: &'static str, reason: String },
    /// A customer's transactions did not arrive in date order (needed by the streaming summary).
    #[error(
        "transactions of customer `{customer}` are not in date order ({date} after {previous})"
    )]
    OutOfOrder {
        customer: String,
        date: chrono::NaiveDate,
        previous: chrono::NaiveDate,
    },
    /// The optimiser stopped without meeting its tolerance.
    #[error("the {model} fit did not converge after {iterations} iterations")]
    NotConverged {
        model: &'static str,
        iterations: usize,
    },
}
