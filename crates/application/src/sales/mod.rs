//! Sales (S-1 …): leads, their conversion into customers, and static lead lists.

pub mod lead_lists;
pub mod leads;
