//! Evaluation of the sentiment analyser on held-out labelled texts (written after the
//! lexicon was frozen, see `data/sentiment/README.md`), beside two baselines: always the
//! training set's most frequent label, and bag-of-words logistic regressions fitted on
//! the training set. Prints accuracy and macro-F1 per language (`cargo test -p analytics
//! --test sentiment_evaluation -- --nocapture`) and asserts only what a broken analyser
//! or a broken data set would fail, not a level tuned to pass.

use std::collections::HashSet;

use analytics::sentiment::metrics::{self, Scores};
use analytics::sentiment::{analyze, BagOfWords, BagOfWordsOptions, Label};

struct Language {
    name: &'static str,
    test: &'static str,
    training: &'static str,
}

const LANGUAGES: [Language; 2] = [
    Language {
        name: "fa",
        test: include_str!("../data/sentiment/test-fa.tsv"),
        training: include_str!("../data/sentiment/train-fa.tsv"),
    },
    Language {
        name: "en",
        test: include_str!("../data/sentiment/test-en.tsv"),
        training: include_str!("../data/sentiment/train-en.tsv"),
    },
];

/// The (label, text) rows of a labelled file: `label<TAB>text`, `#` comments.
fn rows(file: &'static str) -> Vec<(Label, &'static str)> {
    file.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (label, text) = line
                .split_once('\t')
                .unwrap_or_else(|| panic!("not label<TAB>text: {line:?}"));
            let label = Label::parse(label).unwrap_or_else(|| panic!("a label: {label:?}"));
            (label, text)
        })
        .collect()
}

fn line(model: &str, scores: &Scores) -> String {
    format!(
        "  {model:<14} accuracy {:.3}  macro-F1 {:.3}",
        scores.accuracy, scores.macro_f1
    )
}

#[test]
fn analyser_against_baselines_per_language() {
    for language in LANGUAGES {
        let test = rows(language.test);
        let training = rows(language.training);

        // The data is what it claims to be: big enough, all labels, no test text trained on.
        assert!(
            test.len() >= 300,
            "{}: {} test texts",
            language.name,
            test.len()
        );
        for &label in Label::ALL {
            let share = test.iter().filter(|(l, _)| *l == label).count() as f64 / test.len() as f64;
            assert!(
                share > 0.2,
                "{}: {label:?} is {share:.2} of the test set",
                language.name
            );
        }
        let trained: HashSet<String> = training
            .iter()
            .map(|(_, text)| domain::persian::normalize_text(text))
            .collect();
        let test_texts: HashSet<String> = test
            .iter()
            .map(|(_, text)| domain::persian::normalize_text(text))
            .collect();
        assert_eq!(
            test_texts.len(),
            test.len(),
            "{}: a test text twice",
            language.name
        );
        let shared: Vec<&String> = test_texts.intersection(&trained).collect();
        assert!(
            shared.is_empty(),
            "{}: in both sets: {shared:?}",
            language.name
        );

        let truth: Vec<Label> = test.iter().map(|(label, _)| *label).collect();
        let lexicon: Vec<Label> = test.iter().map(|(_, text)| analyze(text).label).collect();
        let (labels, texts): (Vec<Label>, Vec<&str>) = training.iter().copied().unzip();
        let majority = vec![metrics::majority(&labels); test.len()];
        let baseline = BagOfWords::fit(&texts, &labels, &BagOfWordsOptions::default())
            .expect("the baseline fits");
        let bag_of_words: Vec<Label> = test
            .iter()
            .map(|(_, text)| baseline.predict(text))
            .collect();

        let lexicon = metrics::scores(&truth, &lexicon);
        let majority = metrics::scores(&truth, &majority);
        let bag_of_words = metrics::scores(&truth, &bag_of_words);
        println!(
            "{}: {} test texts, {} training texts, {} baseline terms\n{}\n{}\n{}\n  lexicon confusion (rows true negative/neutral/positive): {:?}",
            language.name,
            test.len(),
            training.len(),
            baseline.terms(),
            line("lexicon", &lexicon),
            line("majority", &majority),
            line("bag-of-words", &bag_of_words),
            lexicon.confusion,
        );
        // A broken analyser (always one label, inverted signs, nothing matched) and a
        // broken baseline do no better than always answering the majority label.
        assert!(lexicon.macro_f1 > majority.macro_f1, "{}", language.name);
        assert!(
            bag_of_words.macro_f1 > majority.macro_f1,
            "{}",
            language.name
        );
        // Rows and columns of the confusion matrix.
        let (negative, positive) = (0, 2);
        assert!(
            lexicon.confusion[positive][positive] > lexicon.confusion[positive][negative]
                && lexicon.confusion[negative][negative] > lexicon.confusion[negative][positive],
            "{}: praise and complaints are told apart",
            language.name
        );
    }
}
