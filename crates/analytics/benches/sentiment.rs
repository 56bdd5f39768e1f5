//! Throughput of the sentiment analyser against the bag-of-words baseline, both over the
//! held-out evaluation texts of both languages, on one thread:
//! `cargo bench -p analytics --bench sentiment`.

use analytics::sentiment::{analyze, BagOfWords, BagOfWordsOptions, Label};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

const TEST: [&str; 2] = [
    include_str!("../data/sentiment/test-fa.tsv"),
    include_str!("../data/sentiment/test-en.tsv"),
];
const TRAINING: [&str; 2] = [
    include_str!("../data/sentiment/train-fa.tsv"),
    include_str!("../data/sentiment/train-en.tsv"),
];

/// The (label, text) rows of labelled files.
fn rows(files: &[&'static str]) -> Vec<(Label, &'static str)> {
    files
        .iter()
        .flat_map(|file| file.lines())
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (label, text) = line.split_once('\t').expect("label<TAB>text");
            (Label::parse(label).expect("a label"), text)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let texts: Vec<&str> = rows(&TEST).into_iter().map(|(_, text)| text).collect();
    let (labels, training): (Vec<Label>, Vec<&str>) = rows(&TRAINING).into_iter().unzip();
    let baseline =
        BagOfWords::fit(&training, &labels, &BagOfWordsOptions::default()).expect("fits");
    let mut group = c.benchmark_group("sentiment");
    group.throughput(Throughput::Elements(texts.len() as u64));
    group.bench_function("lexicon", |b| {
        b.iter(|| {
            for text in &texts {
                black_box(analyze(black_box(text)));
            }
        })
    });
    group.bench_function("bag_of_words", |b| {
        b.iter(|| {
            for text in &texts {
                black_box(baseline.predict(black_box(text)));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
