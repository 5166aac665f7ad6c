//! `cargo run --release`: the optim showcase on the command line.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use clap::builder::PossibleValuesParser;
use showcase::train::TrainSettings;
use showcase::{BenchSettings, Config};

/// Trains an MLP on 1,797 embedded handwritten digits with every optimizer (the built-ins and a
/// custom one defined in a few lines), plots loss curves and Rosenbrock paths, and benchmarks the
/// fused kernels against this machine's memory bandwidth.
#[derive(Debug, Parser)]
#[command(name = "showcase", version)]
struct Cli {
    /// Optimizers to run, comma-separated [default: all]
    #[arg(long, value_name = "LIST", value_delimiter = ',', value_parser = PossibleValuesParser::new(keys()))]
    optimizers: Vec<String>,
    /// Passes over the training images
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..))]
    epochs: u32,
    /// Folder for the PNG charts
    #[arg(long, value_name = "DIR", default_value = "out")]
    out: PathBuf,
    /// Draw no charts
    #[arg(long)]
    no_plots: bool,
    /// Skip the kernel benchmark
    #[arg(long)]
    no_bench: bool,
    /// f32 elements per tensor in the kernel benchmark
    #[arg(long, value_name = "N", default_value_t = 1 << 24, value_parser = clap::value_parser!(u32).range(1..))]
    bench_elements: u32,
    /// Seed of the weights, the split and the minibatch order
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

fn keys() -> Vec<&'static str> {
    showcase::lineup::lineup().iter().map(|entrant| entrant.key()).collect()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let defaults = Config::default();
    let config = Config {
        optimizers: cli.optimizers,
        train: TrainSettings { epochs: cli.epochs as usize, seed: cli.seed, ..defaults.train },
        out_dir: (!cli.no_plots).then_some(cli.out),
        bench: (!cli.no_bench).then_some(BenchSettings {
            elements: cli.bench_elements as usize,
            ..defaults.bench.expect("the default runs the benchmark")
        }),
        ..defaults
    };
    let TrainSettings { epochs, hidden, .. } = config.train;
    println!("optim showcase: an MLP (64 -> {hidden} tanh -> 10) learns 8x8 handwritten digits for {epochs} epochs");
    println!("with each optimizer from the same starting weights, walks the Rosenbrock valley with each,");
    println!("and times each optimizer's fused kernel against this machine's memory bandwidth.\n");

    let started = Instant::now();
    let report = match showcase::run(&config) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    if std::io::stderr().is_terminal() {
        println!(); // below the progress bars
    }
    println!("{report}");
    if let Some(dir) = &config.out_dir {
        let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.clone());
        let names: Vec<_> = report.plots.iter().filter_map(|p| p.file_name()).map(|n| n.to_string_lossy()).collect();
        println!("charts: {} ({})", dir.display(), names.join(", "));
    }
    println!("done in {:.1} s", started.elapsed().as_secs_f64());
    ExitCode::SUCCESS
}
