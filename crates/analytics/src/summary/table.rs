//! The streaming summariser's storage: one compact accumulator per customer, ids interned
//! in a single string, days as integers.
//!
//! At a million customers a `String` key and a `NaiveDate` per customer cost an
//! allocation each and about twice the memory; here a customer is its id bytes, one
//! offset, 32 bytes of accumulator and a 4-byte slot in the index.

use std::hash::{BuildHasher, BuildHasherDefault};

use chrono::{Datelike, NaiveDate};
use hashbrown::HashTable;
use rustc_hash::FxHasher;

use super::{model_inputs, CustomerSummary, TimeUnit};
use crate::{AnalyticsError, Result};

/// Days from 0001-01-01 (day 1 of the common era) to 1970-01-01.
const UNIX_EPOCH_FROM_CE: i32 = 719_163;

/// Days since 1970-01-01 of a proleptic Gregorian date, `None` when the month or the day
/// does not exist. Cheaper than building a `NaiveDate` for every row of a large file.
pub fn day_number(year: i32, month: u32, day: u32) -> Option<i32> {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let month_days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day == 0 || day > month_days {
        return None;
    }
    // Days from civil (H. Hinnant's algorithm): years start in March so that the leap
    // day is the last day of the year.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year as i32;
    Some(era * 146_097 + day_of_era - 719_468)
}

/// The day number (see [`day_number`]) of a date.
pub fn day_number_of(date: NaiveDate) -> i32 {
    date.num_days_from_ce() - UNIX_EPOCH_FROM_CE
}

fn date_of(day: i32) -> NaiveDate {
    // Every day number stored here came from a NaiveDate or a validated calendar date,
    // so it is in chrono's range.
    NaiveDate::from_num_days_from_ce_opt(day + UNIX_EPOCH_FROM_CE).unwrap_or(NaiveDate::MIN)
}

/// Id `customer` of ids stored as one string and the end of each.
#[inline]
fn id_in<'a>(ids: &'a str, id_ends: &[usize], customer: usize) -> &'a str {
    let start = if customer == 0 {
        0
    } else {
        id_ends[customer - 1]
    };
    &ids[start..id_ends[customer]]
}

#[derive(Debug, Clone, Copy)]
struct Days {
    first: i32,
    last: i32,
    purchase_days: u32,
    total_amount: f64,
    first_day_amount: f64,
}

impl Days {
    /// Adds `later`, the same customer's next transactions; `None` if they start before
    /// this one's last day.
    fn append(&mut self, later: &Days) -> Option<()> {
        if later.first < self.last {
            return None;
        }
        if later.first == self.first {
            self.first_day_amount += later.first_day_amount;
        }
        self.purchase_days += later.purchase_days - u32::from(later.first == self.last);
        self.last = later.last;
        self.total_amount += later.total_amount;
        Some(())
    }
}

type FxBuild = BuildHasherDefault<FxHasher>;

/// Per-customer accumulators of transactions that arrive in date order per customer
/// (any interleaving of customers). Customers keep the order of their first transaction.
///
/// While customers first appear in increasing id order, as in an export ordered by
/// customer, a new customer is recognised by its id being the largest so far and no index
/// is kept at all: at a million customers the hash lookups were a sixth of the run, most
/// of it cache misses. The first id out of that order builds the index.
#[derive(Debug, Clone, Default)]
pub struct CustomerTable {
    ids: String,
    /// End of each customer's id in `ids`.
    id_ends: Vec<usize>,
    days: Vec<Days>,
    /// Customer numbers hashed by id (Fx: these are the caller's keys); empty while
    /// `indexed` is false, when the ids are in strictly increasing order.
    index: HashTable<u32>,
    indexed: bool,
    /// Customers the index is first sized for: growing it rehashes every id.
    expected: usize,
    /// The customer of the previous transaction, found without a lookup.
    previous: Option<u32>,
}

impl CustomerTable {
    pub fn new() -> Self {
        CustomerTable::default()
    }

    /// A table expecting up to `customers` customers.
    pub fn with_capacity(customers: usize) -> Self {
        CustomerTable {
            expected: customers,
            ..CustomerTable::default()
        }
    }

    /// Customers so far.
    pub fn len(&self) -> usize {
        self.days.len()
    }

    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }

    #[inline]
    fn id(&self, customer: usize) -> &str {
        id_in(&self.ids, &self.id_ends, customer)
    }

    /// Whether `customer` sorts after every id so far (so is new, while not indexed).
    #[inline]
    fn is_after_all(&self, customer: &str) -> bool {
        self.is_empty() || customer > self.id(self.len() - 1)
    }

    fn build_index(&mut self) {
        let (ids, id_ends) = (&self.ids, &self.id_ends);
        let hash = |&c: &u32| FxBuild::default().hash_one(id_in(ids, id_ends, c as usize));
        let mut index = HashTable::with_capacity(self.expected.max(2 * self.len()));
        for c in 0..self.len() as u32 {
            index.insert_unique(hash(&c), c, hash);
        }
        self.index = index;
        self.indexed = true;
    }

    /// The customer's number, if known.
    #[inline]
    fn find(&mut self, customer: &str) -> Option<u32> {
        if let Some(previous) = self.previous {
            if self.id(previous as usize) == customer {
                return Some(previous);
            }
        }
        if !self.indexed {
            if self.is_after_all(customer) {
                return None;
            }
            self.build_index();
        }
        let hash = FxBuild::default().hash_one(customer);
        self.index
            .find(hash, |&c| self.id(c as usize) == customer)
            .copied()
    }

    /// Adds a customer that [`Self::find`] did not know.
    fn insert(&mut self, customer: &str, days: Days) -> u32 {
        let number = self.len() as u32;
        self.ids.push_str(customer);
        self.id_ends.push(self.ids.len());
        self.days.push(days);
        if self.indexed {
            let (ids, id_ends) = (&self.ids, &self.id_ends);
            self.index
                .insert_unique(FxBuild::default().hash_one(customer), number, |&c| {
                    FxBuild::default().hash_one(id_in(ids, id_ends, c as usize))
                });
        }
        number
    }

    /// Adds one transaction on `day` (see [`day_number`]); `amount` must already be
    /// checked to be finite and non-negative.
    pub fn add(&mut self, customer: &str, day: i32, amount: f64) -> Result<()> {
        let Some(number) = self.find(customer) else {
            let days = Days {
                first: day,
                last: day,
                purchase_days: 1,
                total_amount: amount,
                first_day_amount: amount,
            };
            self.previous = Some(self.insert(customer, days));
            return Ok(());
        };
        self.previous = Some(number);
        let acc = &mut self.days[number as usize];
        if day < acc.last {
            return Err(AnalyticsError::OutOfOrder {
                customer: customer.to_owned(),
                date: date_of(day),
                previous: date_of(acc.last),
            });
        }
        if day > acc.last {
            acc.purchase_days += 1;
            acc.last = day;
        } else if day == acc.first {
            acc.first_day_amount += amount;
        }
        acc.total_amount += amount;
        Ok(())
    }

    /// Adds the transactions of `later`, which all come after this table's in the input
    /// (the second half of a file summarised in parallel, for instance).
    pub fn append(&mut self, later: CustomerTable) -> Result<()> {
        self.previous = None;
        let disjoint_and_ordered =
            !self.indexed && !later.indexed && (later.is_empty() || self.is_after_all(later.id(0)));
        if disjoint_and_ordered {
            let offset = self.ids.len();
            self.ids.push_str(&later.ids);
            self.id_ends
                .extend(later.id_ends.iter().map(|end| end + offset));
            self.days.extend_from_slice(&later.days);
            return Ok(());
        }
        self.expected = self.expected.max(self.len() + later.len());
        for (customer, days) in later.days.iter().enumerate() {
            let id = later.id(customer);
            match self.find(id) {
                None => {
                    self.insert(id, *days);
                }
                Some(number) => {
                    let acc = &mut self.days[number as usize];
                    let previous = acc.last;
                    acc.append(days).ok_or_else(|| AnalyticsError::OutOfOrder {
                        customer: id.to_owned(),
                        date: date_of(days.first),
                        previous: date_of(previous),
                    })?;
                }
            }
        }
        Ok(())
    }

    /// The summaries at `calibration_end` (a day number), ordered by customer id.
    pub fn finish(self, calibration_end: i32, unit: TimeUnit) -> Summaries {
        let n = self.len();
        let (ids, id_ends, days) = if !self.indexed {
            (self.ids, self.id_ends, self.days)
        } else {
            let mut order: Vec<u32> = (0..n as u32).collect();
            order.sort_unstable_by(|&a, &b| self.id(a as usize).cmp(self.id(b as usize)));
            let mut ids = String::with_capacity(self.ids.len());
            let mut id_ends = Vec::with_capacity(n);
            for &c in &order {
                ids.push_str(self.id(c as usize));
                id_ends.push(ids.len());
            }
            let days = order.iter().map(|&c| self.days[c as usize]).collect();
            (ids, id_ends, days)
        };
        Summaries {
            ids,
            id_ends,
            days,
            calibration_end,
            unit,
        }
    }
}

/// What the models, RFM and the score output need about one customer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CompactSummary {
    pub frequency: u32,
    pub recency: f64,
    pub t: f64,
    pub monetary: f64,
    pub total_amount: f64,
    /// Calibration end minus the last purchase day.
    pub days_since_last_purchase: i32,
}

impl CompactSummary {
    pub fn history(&self) -> super::PurchaseHistory {
        super::PurchaseHistory {
            frequency: self.frequency,
            recency: self.recency,
            t: self.t,
        }
    }
}

/// Customer summaries ordered by id, stored without a `String` per customer.
#[derive(Debug, Clone)]
pub struct Summaries {
    ids: String,
    id_ends: Vec<usize>,
    days: Vec<Days>,
    calibration_end: i32,
    unit: TimeUnit,
}

impl Summaries {
    pub fn len(&self) -> usize {
        self.days.len()
    }

    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }

    pub fn customer_id(&self, customer: usize) -> &str {
        id_in(&self.ids, &self.id_ends, customer)
    }

    pub fn get(&self, customer: usize) -> CompactSummary {
        let d = &self.days[customer];
        let (frequency, recency, t, monetary) = model_inputs(
            d.first,
            d.last,
            self.calibration_end,
            d.purchase_days,
            d.total_amount,
            d.first_day_amount,
            self.unit,
        );
        CompactSummary {
            frequency,
            recency,
            t,
            monetary,
            total_amount: d.total_amount,
            days_since_last_purchase: self.calibration_end - d.last,
        }
    }

    /// Every summary as a [`CustomerSummary`].
    pub fn to_vec(&self) -> Vec<CustomerSummary> {
        (0..self.len())
            .map(|c| {
                let s = self.get(c);
                CustomerSummary {
                    customer_id: self.customer_id(c).to_owned(),
                    frequency: s.frequency,
                    recency: s.recency,
                    t: s.t,
                    monetary: s.monetary,
                    first_purchase: date_of(self.days[c].first),
                    last_purchase: date_of(self.days[c].last),
                    total_amount: s.total_amount,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;

    #[test]
    fn day_numbers_agree_with_chrono() {
        let mut date = NaiveDate::from_ymd_opt(1899, 12, 25).expect("date");
        while date.year() < 2101 {
            assert_eq!(
                day_number(date.year(), date.month(), date.day()),
                Some(day_number_of(date))
            );
            assert_eq!(date_of(day_number_of(date)), date);
            date = date.succ_opt().expect("next day");
        }
        assert_eq!(day_number(1970, 1, 1), Some(0));
        assert_eq!(day_number(2023, 2, 29), None);
        assert_eq!(day_number(2024, 2, 29), Some(19_782));
        assert_eq!(day_number(2024, 13, 1), None);
        assert_eq!(day_number(2024, 4, 31), None);
    }

    #[test]
    fn appending_a_later_part_equals_adding_every_row() {
        // Interleaved customers, then customers grouped in id order (no index needed),
        // then grouped out of id order.
        let interleaved = [
            ("b", 3, 1.0),
            ("a", 1, 2.0),
            ("a", 1, 4.0),
            ("b", 5, 8.0),
            ("a", 1, 16.0),
            ("c", 2, 32.0),
            ("a", 6, 64.0),
            ("b", 5, 128.0),
        ];
        let mut grouped = interleaved;
        grouped.sort_by_key(|row| row.0);
        let mut unordered = grouped;
        unordered.sort_by(|x, y| y.0.cmp(x.0));
        for rows in [interleaved, grouped, unordered] {
            check_every_split(&rows);
        }
    }

    fn check_every_split(rows: &[(&str, i32, f64)]) {
        let mut whole = CustomerTable::new();
        for &(c, d, a) in rows {
            whole.add(c, d, a).expect("in order");
        }
        for split in 0..=rows.len() {
            let (mut first, mut second) = (CustomerTable::new(), CustomerTable::new());
            for (c, d, a) in &rows[..split] {
                first.add(c, *d, *a).expect("in order");
            }
            for (c, d, a) in &rows[split..] {
                second.add(c, *d, *a).expect("in order");
            }
            first.append(second).expect("in order");
            assert_eq!(
                first.finish(10, TimeUnit::Day).to_vec(),
                whole.clone().finish(10, TimeUnit::Day).to_vec(),
                "split at {split}"
            );
        }
        let mut late = CustomerTable::new();
        late.add("a", 0, 1.0).expect("in order");
        assert!(matches!(
            whole.append(late),
            Err(AnalyticsError::OutOfOrder { .. })
        ));
    }
}
