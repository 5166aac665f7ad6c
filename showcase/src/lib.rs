//! The optim showcase: one command that trains a real model with every optimizer.
//!
//! [`run`] trains a small MLP on the 8x8 handwritten digits embedded in the binary with each
//! optimizer of the [`lineup`](mod@lineup): the built-ins and [`lion::Lion`], a custom optimizer
//! defined in a few lines. It then walks each one down the Rosenbrock valley, draws both as PNG
//! charts, and times every fused kernel against the machine's own memory bandwidth. The
//! `showcase` binary is a command line around it; `cargo run --release` from the repository root
//! runs it.
//!
//! ```no_run
//! let report = showcase::run(&showcase::Config::default()).unwrap();
//! println!("{report}");
//! ```

#![warn(missing_docs)]

pub mod bench;
pub mod bf16;
pub mod data;
pub mod lineup;
pub mod lion;
pub mod mlp;
pub mod plots;
pub mod report;
pub mod rosenbrock;
pub mod split;
pub mod train;

use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};
use optim::OptimError;

use crate::bench::probe_bandwidth;
use crate::data::{DataError, Dataset};
use crate::lineup::{Entrant, lineup};
use crate::plots::{PlotError, Series};
pub use crate::report::{BenchReport, OptimizerRun, Report};
use crate::train::TrainSettings;

/// Everything [`run`] does, with defaults that finish in well under a minute on two cores.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Keys of the optimizers to run (see [`lineup::lineup`]); empty runs all of them.
    pub optimizers: Vec<String>,
    /// How the MLP is trained.
    pub train: TrainSettings,
    /// Fraction of each digit class held out for testing.
    pub test_fraction: f64,
    /// Steps each optimizer takes on Rosenbrock.
    pub rosenbrock_steps: usize,
    /// Folder for the PNG charts; `None` draws none.
    pub out_dir: Option<PathBuf>,
    /// Kernel benchmark size; `None` skips the benchmark.
    pub bench: Option<BenchSettings>,
    /// Show progress bars (they also hide themselves when stderr is not a terminal).
    pub progress: bool,
}

/// Size of the kernel benchmark.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BenchSettings {
    /// f32 elements per tensor.
    pub elements: usize,
    /// Timed repetitions; the best one counts.
    pub repeats: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            optimizers: Vec::new(),
            train: TrainSettings { epochs: 30, batch_size: 32, hidden: 32, seed: 0 },
            test_fraction: 0.2,
            rosenbrock_steps: 2000,
            out_dir: Some(PathBuf::from("out")),
            bench: Some(BenchSettings { elements: 1 << 24, repeats: 10 }),
            progress: true,
        }
    }
}

/// Why the showcase stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `optimizers` names one the lineup does not have.
    #[error("unknown optimizer `{name}`; choose from: {known}")]
    UnknownOptimizer {
        /// The name given.
        name: String,
        /// The names the lineup has, comma-separated.
        known: String,
    },
    /// The embedded data could not be read.
    #[error(transparent)]
    Data(#[from] DataError),
    /// An optimizer rejected its hyperparameters.
    #[error(transparent)]
    Optim(#[from] OptimError),
    /// The output folder could not be created.
    #[error("cannot create {path}: {source}")]
    OutDir {
        /// The folder.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A chart could not be drawn.
    #[error(transparent)]
    Plot(#[from] PlotError),
}

/// Runs the showcase: train, walk Rosenbrock, plot, benchmark.
pub fn run(config: &Config) -> Result<Report, Error> {
    let entrants = select(&config.optimizers)?;
    let digits = Dataset::embedded()?;
    let (train_set, test_set) = digits.split(config.test_fraction, config.train.seed);

    let mut runs = Vec::new();
    for entrant in &entrants {
        let progress = progress_bar(config.progress, config.train.epochs, entrant.label(), "epochs");
        let train = entrant.train(&train_set, &test_set, &config.train, &progress)?;
        progress.finish_with_message(format!(
            "train loss {:.2e}, test accuracy {:.1}%",
            train.train_loss,
            100.0 * train.test_accuracy
        ));
        let rosenbrock = entrant.rosenbrock(config.rosenbrock_steps)?;
        runs.push(OptimizerRun {
            key: entrant.key(),
            label: entrant.label(),
            mlp_lr: entrant.mlp_lr(),
            rosenbrock_lr: entrant.rosenbrock_lr(),
            train,
            rosenbrock,
        });
    }

    let plots = match &config.out_dir {
        Some(dir) => draw_plots(dir, &runs)?,
        None => Vec::new(),
    };

    let bench = config.bench.map(|settings| {
        let progress = progress_bar(config.progress, entrants.len() + 1, "kernels", "measured");
        let bandwidth = probe_bandwidth(settings.elements, settings.repeats);
        progress.inc(1);
        let kernels = entrants
            .iter()
            .filter_map(|entrant| {
                let timing = entrant.time_kernel(settings.elements, settings.repeats);
                progress.inc(1);
                timing.map(|timing| (entrant.label(), timing))
            })
            .collect();
        progress.finish_and_clear();
        BenchReport { elements: settings.elements, bandwidth, kernels }
    });

    Ok(Report {
        train_images: train_set.len(),
        test_images: test_set.len(),
        settings: config.train.clone(),
        rosenbrock_steps: config.rosenbrock_steps,
        runs,
        bench,
        plots,
    })
}

/// The entrants named in `keys`, in lineup order; all of them when `keys` is empty.
///
/// ```
/// let picked = showcase::select(&["adam".into(), "sgd".into()]).unwrap();
/// assert_eq!(picked.iter().map(|e| e.key()).collect::<Vec<_>>(), ["sgd", "adam"]);
/// assert!(showcase::select(&["adamm".into()]).is_err());
/// ```
pub fn select(keys: &[String]) -> Result<Vec<Box<dyn Entrant>>, Error> {
    let all = lineup();
    if let Some(name) = keys.iter().find(|key| !all.iter().any(|entrant| entrant.key() == key.as_str())) {
        let known = all.iter().map(|entrant| entrant.key()).collect::<Vec<_>>().join(", ");
        return Err(Error::UnknownOptimizer { name: name.clone(), known });
    }
    Ok(all.into_iter().filter(|entrant| keys.is_empty() || keys.iter().any(|key| key == entrant.key())).collect())
}

fn draw_plots(dir: &std::path::Path, runs: &[OptimizerRun]) -> Result<Vec<PathBuf>, Error> {
    std::fs::create_dir_all(dir).map_err(|source| Error::OutDir { path: dir.to_path_buf(), source })?;
    let loss: Vec<_> =
        runs.iter().map(|run| Series { label: run.label.to_string(), points: &run.train.curve }).collect();
    let paths: Vec<_> = runs
        .iter()
        .filter_map(|run| {
            let path = run.rosenbrock.as_ref()?;
            let end = *path.last().expect("a path holds its start");
            let label = format!("{} (lr {}): f = {:.1e}", run.label, run.rosenbrock_lr, rosenbrock::value(end));
            Some(Series { label, points: path })
        })
        .collect();
    let (loss_png, rosenbrock_png) = (dir.join("loss.png"), dir.join("rosenbrock.png"));
    plots::loss_curves(&loss_png, &loss)?;
    plots::rosenbrock_paths(&rosenbrock_png, &paths)?;
    Ok(vec![loss_png, rosenbrock_png])
}

fn progress_bar(visible: bool, len: usize, prefix: &'static str, unit: &str) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let template = format!("{{prefix:>14}} [{{bar:30.cyan/blue}}] {{pos:>3}}/{{len}} {unit} {{elapsed:>3}} {{msg}}");
    let style = ProgressStyle::with_template(&template).expect("the template is valid").progress_chars("=> ");
    ProgressBar::new(len as u64).with_style(style).with_prefix(prefix)
}
