//! Sales (S-1 …): leads and their conversion into customers.

pub mod leads;
