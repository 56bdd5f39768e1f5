//! Time to lay out and write a printed quote: 26 lines (one page) and 260 lines (ten
//! pages), in Persian (right to left, every cell shaped) and English.
//! `cargo bench -p documents`; the results are in docs/benchmarks.md.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use documents::{Align, Column, Direction, TableDocument};

fn document(direction: Direction, lines: usize) -> TableDocument {
    let persian = direction == Direction::RightToLeft;
    let columns = [
        ("ردیف", 0.75, Align::Center),
        ("شرح", 3.2, Align::Start),
        ("تعداد", 0.8, Align::End),
        ("بهای واحد", 1.5, Align::End),
        ("تخفیف", 1.2, Align::End),
        ("مالیات", 1.3, Align::End),
        ("مبلغ", 1.6, Align::End),
    ]
    .into_iter()
    .map(|(heading, weight, align)| Column {
        heading: heading.into(),
        weight,
        align,
    })
    .collect();
    let rows = (1..=lines)
        .map(|n| {
            let name = if persian {
                format!("کیف چرمی دست‌دوز مدل {n} رنگ قهوه‌ای")
            } else {
                format!("Hand-stitched leather bag, model {n}, brown")
            };
            vec![
                n.to_string(),
                name,
                "2".into(),
                "12٬500٬000".into(),
                "500٬000".into(),
                "2٬205٬000".into(),
                "26٬705٬000".into(),
            ]
        })
        .collect();
    TableDocument {
        direction,
        title: "پیش‌فاکتور Q-1405-000123".into(),
        header: vec![
            ("شماره".into(), "Q-1405-000123".into()),
            ("تاریخ".into(), "1405/09/12".into()),
            ("مشتری".into(), "شرکت بازرگانی پیوند".into()),
            ("معتبر تا".into(), "1405/10/12".into()),
        ],
        columns,
        rows,
        totals: vec![("مبلغ قابل پرداخت".into(), "764٬205٬000 ریال".into())],
        notes: Some("تحویل در ده روز کاری".into()),
        page_label: |page, count| format!("صفحه {page} از {count}"),
    }
}

fn table_pages(c: &mut Criterion) {
    let mut group = c.benchmark_group("quote_pdf");
    for (name, direction) in [
        ("fa", Direction::RightToLeft),
        ("en", Direction::LeftToRight),
    ] {
        for lines in [26, 260] {
            let document = document(direction, lines);
            group.throughput(Throughput::Elements(lines as u64));
            group.bench_with_input(BenchmarkId::new(name, lines), &document, |b, document| {
                b.iter(|| document.render().expect("renders"))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, table_pages);
criterion_main!(benches);
