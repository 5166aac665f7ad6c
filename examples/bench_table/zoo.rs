//! `bench_table`'s zoo table: every zoo rule's `step` at the large size, against the time the
//! bytes of its read-only passes and its update need at the probes' speed.

use optim::Rule;

use crate::fixture::{Shape, Step};
use crate::zoo_cases::{Bytes, VisitZoo};
use crate::{Run, gbps, median_time, plural};

/// One zoo rule's figures: its passes, bytes per element and seconds per step.
#[derive(Clone)]
pub struct ZooRow {
    pub label: &'static str,
    pub passes: usize,
    pub bytes: Bytes,
    pub step: f64,
}

/// Times every zoo rule whose name starts with `only` (all without it).
pub struct MeasureZoo<'a> {
    pub large: Shape,
    pub reps: usize,
    pub only: Option<&'a str>,
    pub rows: Vec<ZooRow>,
}

impl VisitZoo for MeasureZoo<'_> {
    fn visit_zoo<R: Rule>(&mut self, hyper: R::Hyper, bytes: Bytes) {
        if self.only.is_some_and(|only| !R::NAME.starts_with(only)) {
            return;
        }
        let mut step = Step::<R>::new(hyper, self.large);
        let passes = step.passes_run();
        let step = median_time(self.reps, 1, || step.run());
        self.rows.push(ZooRow { label: R::NAME, passes, bytes, step });
    }
}

/// The zoo rules' table.
pub fn zoo_table(run: &Run, large: Shape) {
    let (big, t) = (large.label(), run.threads);
    println!(
        "Zoo rules, `step` at {big} on {t} thread{}: the bytes each moves per element (read-only passes \
         + update), and the time those bytes need at the `read` and `rmw` probes' speed.\n",
        plural(t)
    );
    println!("| rule | passes | B/elem | step | GB/s | time its bytes need | need / step |");
    println!("|---|--:|--:|--:|--:|--:|--:|");
    for row in &run.zoo {
        let need = run.need(row.bytes, large.elements());
        println!(
            "| {} | {} | {} + {} | {:.2} ms | {:.1} | {:.2} ms | {:.0}% |",
            row.label,
            row.passes,
            row.bytes.read_only,
            row.bytes.update,
            row.step * 1e3,
            gbps(row.bytes.total() * large.elements(), row.step),
            need * 1e3,
            100.0 * need / row.step,
        );
    }
    println!();
}
