//! Customer-base analytics for Peyvand: pure algorithms over plain data (no database, no
//! HTTP), each returning with its result a report of how it was fit.
//!
//! | module | what | reference |
//! | --- | --- | --- |
//! | [`summary`] | per-customer frequency / recency / T / monetary from transactions | Fader, Hardie & Lee (2005a) |
//! | [`bgnbd`] | BG/NBD purchase-count model, P(alive), expected purchases | Fader, Hardie & Lee (2005a) |
//! | [`gamma_gamma`] | Gamma-Gamma spend model | Fader, Hardie & Lee (2005b); Fader & Hardie (2013) |
//! | [`clv`] | predictive and historical customer lifetime value | as the `lifetimes` package |
//! | [`rfm`] | quintile RFM scores and named segments | |
//! | [`export`] | per-customer scores as CSV rows | |
//! | [`churn`] | churn risk and its drivers | |
//! | [`kmeans`] | k-means++ clustering, silhouette | Arthur & Vassilvitskii (2007); Rousseeuw (1987) |
//! | [`logistic`] | L2 logistic regression propensity model | |
//! | [`attribution`] | multi-touch marketing attribution | |
//! | [`cross_sell`] | association rules and recommendations | Agrawal, Imieliński & Swami (1993) |
//! | [`pricing`] | price elasticity and A/B test statistics | |
//! | [`experiments`] | a price experiment's figures, comparisons and decision (Bonferroni) | |
//! | [`intervals`] | confidence intervals of CSAT shares, NPS, means and correlations | Wilson (1927); Rocks (2016) |
//! | [`sentiment`] | lexicon-based sentiment of Persian and English text, a bag-of-words baseline | Hutto & Gilbert (2014) |
//! | [`simulate`] | data generators with known parameters, for tests and benchmarks | |
//!
//! References: P. S. Fader, B. G. S. Hardie, K. L. Lee, "Counting your customers the easy
//! way: an alternative to the Pareto/NBD model", Marketing Science 24(2), 2005 (2005a);
//! "RFM and CLV: using iso-value curves for customer base analysis", Journal of Marketing
//! Research 42(4), 2005 (2005b); P. S. Fader, B. G. S. Hardie, "The Gamma-Gamma model of
//! monetary value", 2013, <http://www.brucehardie.com/notes/025/>; C. J. Hutto, E. Gilbert,
//! "VADER: a parsimonious rule-based model for sentiment analysis of social media text",
//! ICWSM 2014.

pub mod attribution;
pub mod bgnbd;
pub mod churn;
pub mod clv;
pub mod cross_sell;
mod error;
pub mod experiments;
pub mod export;
pub mod gamma_gamma;
pub mod intervals;
pub mod kmeans;
pub mod logistic;
mod optimize;
pub mod pricing;
pub mod rfm;
pub mod sentiment;
pub mod simulate;
mod special;
pub mod summary;

pub use error::AnalyticsError;
pub use optimize::OptimizerReport;

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, AnalyticsError>;
