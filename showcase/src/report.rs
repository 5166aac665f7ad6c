//! What [`crate::run`] found, printed as plain-text tables.

use std::fmt;
use std::path::PathBuf;

use crate::bench::{Bandwidth, KernelTiming};
use crate::rosenbrock::{self, START};
use crate::train::{TrainRun, TrainSettings};

/// Results of one optimizer.
#[derive(Debug, Clone, PartialEq)]
pub struct OptimizerRun {
    /// Its command-line name.
    pub key: &'static str,
    /// Its display name.
    pub label: &'static str,
    /// Learning rate on the MLP.
    pub mlp_lr: f64,
    /// Learning rate on Rosenbrock.
    pub rosenbrock_lr: f64,
    /// Training results on the digits.
    pub train: TrainRun,
    /// Its Rosenbrock path, the start included; `None` for a variant whose path is another
    /// entry's (compact state: a two-element point keeps float32 state).
    pub rosenbrock: Option<Vec<[f64; 2]>>,
}

/// Results of the kernel benchmark.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchReport {
    /// f32 elements per tensor.
    pub elements: usize,
    /// The machine's copy and triad bandwidth over arrays of that size.
    pub bandwidth: Bandwidth,
    /// Each optimizer's display name and kernel timing.
    pub kernels: Vec<(&'static str, KernelTiming)>,
}

/// Everything the showcase measured; its `Display` is the tables the binary prints.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Images trained on.
    pub train_images: usize,
    /// Images held out.
    pub test_images: usize,
    /// How the MLP was trained.
    pub settings: TrainSettings,
    /// Steps taken on Rosenbrock.
    pub rosenbrock_steps: usize,
    /// One entry per optimizer, in lineup order.
    pub runs: Vec<OptimizerRun>,
    /// The kernel benchmark, when it ran.
    pub bench: Option<BenchReport>,
    /// The charts written.
    pub plots: Vec<PathBuf>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let TrainSettings { epochs, batch_size, hidden, .. } = self.settings;
        writeln!(
            f,
            "Digits MLP 64-{hidden}-10: {epochs} epochs, batch {batch_size}, {} train / {} test images",
            self.train_images, self.test_images
        )?;
        let mut table =
            Table::new(["optimizer", "lr", "train loss", "test acc", "step µs", "train steps/s", "state B/param"]);
        for run in &self.runs {
            let t = &run.train;
            let step_us = t.step_time.as_secs_f64() * 1e6 / t.steps.max(1) as f64;
            table.row([
                run.label.to_string(),
                format!("{}", run.mlp_lr),
                format!("{:.2e}", t.train_loss),
                format!("{:.1}%", 100.0 * t.test_accuracy),
                format!("{step_us:.1}"),
                format!("{:.0}", t.steps as f64 / t.train_time.as_secs_f64().max(1e-9)),
                format!("{:.2}", t.state_bytes_per_param),
            ]);
        }
        writeln!(f, "{table}")?;
        writeln!(
            f,
            "step µs: mean time inside Optimizer::step; train steps/s: whole minibatch iterations; state B/param: optimizer state bytes per model parameter\n"
        )?;

        writeln!(
            f,
            "Rosenbrock: {} steps from ({}, {}); the minimum is f(1, 1) = 0",
            self.rosenbrock_steps, START[0], START[1]
        )?;
        let mut table = Table::new(["optimizer", "lr", "end x", "end y", "f(end)"]);
        for run in &self.runs {
            let Some(path) = &run.rosenbrock else { continue };
            let end = *path.last().expect("a path holds its start");
            table.row([
                run.label.to_string(),
                format!("{}", run.rosenbrock_lr),
                format!("{:.4}", end[0]),
                format!("{:.4}", end[1]),
                format!("{:.2e}", rosenbrock::value(end)),
            ]);
        }
        writeln!(f, "{table}")?;

        if let Some(bench) = &self.bench {
            writeln!(f, "\n{bench}")?;
        }
        Ok(())
    }
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mb = self.elements as f64 * 4.0 / 1e6;
        writeln!(
            f,
            "Kernel layer (prepare + apply on slices): {} f32 elements ({mb:.1} MB per tensor), one thread",
            self.elements
        )?;
        let triad = self.bandwidth.triad;
        let mut table = Table::new(["kernel", "bytes/elem", "ms/step", "GB/s", "of triad"]);
        let mut row = |name: String, bytes: usize, gbps: f64| {
            let ms = (bytes * self.elements) as f64 / (gbps * 1e9) * 1e3;
            table.row([
                name,
                bytes.to_string(),
                format!("{ms:.2}"),
                format!("{gbps:.1}"),
                format!("{:.0}%", 100.0 * gbps / triad),
            ]);
        };
        row("copy probe (b = a)".into(), 8, self.bandwidth.copy);
        row("triad probe (a = b + s*c)".into(), 12, triad);
        for (label, timing) in &self.kernels {
            row(label.to_string(), timing.bytes_per_element, timing.gbps);
        }
        writeln!(f, "{table}")?;
        writeln!(f, "bytes/elem = 4 x (param read + written, grad read, each state read + written).")?;
        writeln!(f, "Triad counts 12 bytes as STREAM does, but its store first reads the line it overwrites")?;
        write!(f, "(write-allocate); an optimizer step writes only what it has read, so it can pass 100%.")
    }
}

/// A plain-text table: the first column left-aligned, the others right-aligned.
struct Table<const N: usize> {
    header: [String; N],
    rows: Vec<[String; N]>,
}

impl<const N: usize> Table<N> {
    fn new(header: [&str; N]) -> Self {
        Table { header: header.map(String::from), rows: Vec::new() }
    }

    fn row(&mut self, cells: [String; N]) {
        self.rows.push(cells);
    }
}

impl<const N: usize> fmt::Display for Table<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let all = || std::iter::once(&self.header).chain(&self.rows);
        let widths: Vec<usize> = (0..N).map(|c| all().map(|r| r[c].chars().count()).max().unwrap_or(0)).collect();
        let line = |f: &mut fmt::Formatter<'_>, cells: &[String; N]| {
            for (c, (cell, width)) in cells.iter().zip(&widths).enumerate() {
                match c {
                    0 => write!(f, "  {cell:<width$}")?,
                    _ => write!(f, "  {cell:>width$}")?,
                }
            }
            Ok(())
        };
        line(f, &self.header)?;
        let rule: usize = widths.iter().map(|w| w + 2).sum();
        write!(f, "\n  {}", "-".repeat(rule - 2))?;
        for row in &self.rows {
            writeln!(f)?;
            line(f, row)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_the_first_column_left_and_the_rest_right() {
        let mut table = Table::new(["name", "value"]);
        table.row(["a".into(), "1.5".into()]);
        table.row(["longer".into(), "10".into()]);
        assert_eq!(table.to_string(), "  name    value\n  -------------\n  a         1.5\n  longer     10");
    }
}
