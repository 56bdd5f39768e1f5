//! Sales (S-1 …): leads, the people and companies that may become customers.

pub mod leads;
