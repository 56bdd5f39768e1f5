//! Accuracy and macro-averaged F1 of predicted labels, for evaluating sentiment models.

use super::Label;

/// A label's row and column in a confusion matrix.
fn index(label: Label) -> usize {
    match label {
        Label::Negative => 0,
        Label::Neutral => 1,
        Label::Positive => 2,
    }
}

/// How well predictions match the true labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    pub texts: usize,
    pub accuracy: f64,
    /// The mean over the three labels of F1 = 2 · precision · recall / (precision +
    /// recall), 0 for a label never predicted or never true: unlike accuracy it does not
    /// reward always answering the most frequent label.
    pub macro_f1: f64,
    /// `confusion[truth][predicted]`, in the order negative, neutral, positive.
    pub confusion: [[usize; 3]; 3],
}

/// Scores `predicted` against `truth`, pairwise.
pub fn scores(truth: &[Label], predicted: &[Label]) -> Scores {
    let mut confusion = [[0usize; 3]; 3];
    for (t, p) in truth.iter().zip(predicted) {
        confusion[index(*t)][index(*p)] += 1;
    }
    let texts = truth.len().min(predicted.len());
    let correct: usize = (0..3).map(|k| confusion[k][k]).sum();
    let f1 = |k: usize| {
        let true_positive = confusion[k][k] as f64;
        let actual: usize = confusion[k].iter().sum();
        let predicted: usize = confusion.iter().map(|row| row[k]).sum();
        if true_positive == 0.0 {
            0.0
        } else {
            2.0 * true_positive / (actual + predicted) as f64
        }
    };
    Scores {
        texts,
        accuracy: if texts == 0 {
            0.0
        } else {
            correct as f64 / texts as f64
        },
        macro_f1: (0..3).map(f1).sum::<f64>() / 3.0,
        confusion,
    }
}

/// The label most frequent in `labels` (ties to negative, then neutral): the
/// majority-class baseline, fitted on training labels.
pub fn majority(labels: &[Label]) -> Label {
    let mut counts = [0usize; 3];
    for label in labels {
        counts[index(*label)] += 1;
    }
    [Label::Positive, Label::Neutral, Label::Negative]
        .into_iter()
        .max_by_key(|&label| counts[index(label)])
        .unwrap_or(Label::Neutral)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Label::*;

    #[test]
    fn accuracy_and_macro_f1() {
        let truth = [Positive, Positive, Negative, Neutral];
        let predicted = [Positive, Negative, Negative, Positive];
        let s = scores(&truth, &predicted);
        assert_eq!(s.accuracy, 0.5);
        // positive: tp 1, 2 true, 2 predicted → 0.5; negative: tp 1, 1 true, 2 predicted
        // → 2/3; neutral: 0.
        assert!((s.macro_f1 - (0.5 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
        assert_eq!(s.confusion[index(Positive)][index(Negative)], 1);
        assert_eq!(majority(&truth), Positive);
        assert_eq!(majority(&[Neutral, Negative]), Negative);
    }
}
