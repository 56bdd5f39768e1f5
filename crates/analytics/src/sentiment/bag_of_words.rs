//! A bag-of-words baseline: one-vs-rest L2 logistic regressions
//! ([`crate::logistic`]) on the presence of the words and symbols of the vocabulary of
//! the training texts, tokenised like the analyser's input. It learns only from labelled
//! texts, so it shows what the lexicon adds over a model fitted to a small training set.

use std::collections::HashMap;

use rustc_hash::FxBuildHasher;
use serde::Serialize;

use super::lexicon::Lexicon;
use super::tokens::{self, Kind};
use super::Label;
use crate::logistic::{LogisticModel, LogisticOptions};
use crate::{AnalyticsError, Result};

/// Fit settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BagOfWordsOptions {
    /// A term enters the vocabulary when at least this many training texts hold it.
    pub min_documents: usize,
    /// At most this many terms, the most frequent first: the fit's Newton steps cost the
    /// cube of the vocabulary.
    pub max_terms: usize,
    pub logistic: LogisticOptions,
}

impl Default for BagOfWordsOptions {
    fn default() -> Self {
        BagOfWordsOptions {
            min_documents: 2,
            max_terms: 300,
            logistic: LogisticOptions {
                // Presence features of few texts separate easily; a firmer penalty than
                // the propensity models' keeps the coefficients finite.
                l2: 1e-2,
                ..LogisticOptions::default()
            },
        }
    }
}

/// A fitted baseline.
#[derive(Debug, Clone)]
pub struct BagOfWords {
    vocabulary: HashMap<String, usize, FxBuildHasher>,
    /// Per label, negative, neutral, positive: intercept and coefficients in presence
    /// units.
    models: [(f64, Vec<f64>); 3],
}

/// The distinct vocabulary indices of the terms of `text`.
fn present<'a>(
    normalised: &'a str,
    lexicon: &'a Lexicon,
    mut index: impl FnMut(&'a str) -> Option<usize>,
    out: &mut Vec<usize>,
) {
    out.clear();
    out.extend(
        tokens::tokens(normalised, lexicon)
            .filter(|token| token.kind != Kind::Break)
            .filter_map(|token| index(token.text)),
    );
    out.sort_unstable();
    out.dedup();
}

impl BagOfWords {
    /// Fits one model per label on `texts` and their `labels`. Every label must occur.
    pub fn fit(texts: &[&str], labels: &[Label], options: &BagOfWordsOptions) -> Result<Self> {
        if texts.len() != labels.len() {
            return Err(AnalyticsError::InvalidParameter {
                name: "labels",
                reason: format!("{} labels for {} texts", labels.len(), texts.len()),
            });
        }
        let lexicon = Lexicon::builtin();
        let normalised: Vec<String> = texts
            .iter()
            .map(|text| domain::persian::normalize_text(text))
            .collect();
        // Document frequency of every term, then the vocabulary.
        let mut documents: HashMap<&str, usize, FxBuildHasher> = HashMap::default();
        let mut terms: Vec<&str> = Vec::new();
        for text in &normalised {
            terms.clear();
            terms.extend(
                tokens::tokens(text, lexicon)
                    .filter(|token| token.kind != Kind::Break)
                    .map(|token| token.text),
            );
            terms.sort_unstable();
            terms.dedup();
            for &term in &terms {
                *documents.entry(term).or_default() += 1;
            }
        }
        let mut ranked: Vec<(&str, usize)> = documents
            .into_iter()
            .filter(|&(_, count)| count >= options.min_documents)
            .collect();
        ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        ranked.truncate(options.max_terms);
        if ranked.is_empty() {
            return Err(AnalyticsError::NoData(
                "no term occurs in enough training texts",
            ));
        }
        let names: Vec<&str> = ranked.iter().map(|&(term, _)| term).collect();
        let vocabulary: HashMap<String, usize, FxBuildHasher> = names
            .iter()
            .enumerate()
            .map(|(index, term)| (term.to_string(), index))
            .collect();
        let mut indices = Vec::new();
        let rows: Vec<Vec<f64>> = normalised
            .iter()
            .map(|text| {
                present(
                    text,
                    lexicon,
                    |term| vocabulary.get(term).copied(),
                    &mut indices,
                );
                let mut row = vec![0.0; names.len()];
                for &index in &indices {
                    row[index] = 1.0;
                }
                row
            })
            .collect();
        let fit = |label: Label| -> Result<(f64, Vec<f64>)> {
            let outcomes: Vec<bool> = labels.iter().map(|&l| l == label).collect();
            let model = LogisticModel::fit(&names, &rows, &outcomes, &options.logistic)?;
            Ok(model.unstandardised())
        };
        Ok(BagOfWords {
            models: [
                fit(Label::Negative)?,
                fit(Label::Neutral)?,
                fit(Label::Positive)?,
            ],
            vocabulary,
        })
    }

    /// The label whose model gives `text` the highest log-odds.
    pub fn predict(&self, text: &str) -> Label {
        let normalised = domain::persian::normalize_text(text);
        let mut indices = Vec::new();
        present(
            &normalised,
            Lexicon::builtin(),
            |term| self.vocabulary.get(term).copied(),
            &mut indices,
        );
        let log_odds = |(intercept, coefficients): &(f64, Vec<f64>)| {
            intercept + indices.iter().map(|&j| coefficients[j]).sum::<f64>()
        };
        [Label::Negative, Label::Neutral, Label::Positive]
            .into_iter()
            .zip(&self.models)
            .map(|(label, model)| (label, log_odds(model)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map_or(Label::Neutral, |(label, _)| label)
    }

    /// How many terms the vocabulary holds.
    pub fn terms(&self) -> usize {
        self.vocabulary.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_words_from_labelled_texts() {
        let texts = [
            "great service",
            "great and fast",
            "fast and great",
            "really great",
            "awful service",
            "awful and slow",
            "slow and awful",
            "really awful",
            "where is my parcel",
            "my parcel number",
            "parcel where",
            "where is it",
        ];
        let labels: Vec<Label> = [Label::Positive, Label::Negative, Label::Neutral]
            .into_iter()
            .flat_map(|label| [label; 4])
            .collect();
        let model = BagOfWords::fit(&texts, &labels, &BagOfWordsOptions::default()).expect("fits");
        assert!(model.terms() > 5);
        assert_eq!(model.predict("GREAT!"), Label::Positive);
        assert_eq!(model.predict("awful."), Label::Negative);
        assert_eq!(model.predict("parcel?"), Label::Neutral);
    }
}
