//! The showcase's own code path on a reduced setting: one epoch, a tiny benchmark, real charts.

use std::process::Command;

use showcase::train::TrainSettings;
use showcase::{BenchSettings, Config, run};

/// The test accuracy each optimizer must beat after one epoch (chance is 10%).
///
/// Measured over seeds 0..10 with the lineup's learning rates, the lowest were: SGD, ASGD,
/// Adagrad, RMSprop, Adam, AdamW, NAdam 85–89%; Adadelta 75%, Rprop 80%, Adamax 82%; RAdam 33%
/// (its first steps are an un-adapted warm-up) and Lion 47% (it moves each weight by only `lr`
/// per step); SOAP 56% (2026-12-03: its reference's default lr, 3e-3, a third of the Adam
/// family's here, and a first step that only gathers statistics). Each floor leaves a wide
/// margin below those.
fn accuracy_floor(key: &str) -> f32 {
    match key {
        "radam" | "lion" => 0.20,
        "soap" => 0.40,
        "adadelta" | "rprop" | "adamax" | "sf-adamw" => 0.60,
        _ => 0.75,
    }
}

#[test]
fn one_epoch_trains_every_optimizer_plots_and_benchmarks() {
    let out = tempfile::tempdir().unwrap();
    let charts = out.path().join("charts");
    let defaults = Config::default();
    let config = Config {
        train: TrainSettings { epochs: 1, ..defaults.train },
        rosenbrock_steps: 300,
        out_dir: Some(charts.clone()),
        bench: Some(BenchSettings { elements: 1 << 12, repeats: 2 }),
        progress: false,
        ..defaults
    };
    let report = run(&config).unwrap();

    let keys: Vec<_> = report.runs.iter().map(|run| run.key).collect();
    let expected = [
        "sgd",
        "asgd",
        "adagrad",
        "rmsprop",
        "adadelta",
        "rprop",
        "adam",
        "adamw",
        "adamax",
        "nadam",
        "radam",
        "lion",
        "prodigy",
        "sf-adamw",
        "muon",
        "soap",
        "adamw-8bit",
        "adamw-4bit",
        "adamw-bf16",
        "adamw-bf16-sr",
    ];
    assert_eq!(keys, expected);
    assert_eq!(report.train_images + report.test_images, 1797);
    for run in &report.runs {
        let floor = accuracy_floor(run.key);
        assert!(run.train.test_accuracy > floor, "{}: {}", run.key, run.train.test_accuracy);
        assert!(run.train.train_loss < run.train.curve[0].1, "{}: the loss did not fall", run.key);
        // compact-state and bfloat16-weight variants walk Rosenbrock as AdamW does (a
        // two-element float32 point), so they have no path of their own
        let compact = run.key.ends_with("bit");
        let variant = compact || run.key.contains("bf16");
        assert_eq!(run.rosenbrock.as_ref().map(Vec::len), (!variant).then_some(301), "{}", run.key);
        // SOAP keeps two square matrices per side beside Adam's moments (28.7 bytes per
        // parameter on this MLP's 64 x 32 and 32 x 10 weights)
        let adam_bytes = if compact {
            0.0..8.0
        } else if run.key == "soap" {
            16.0..40.0
        } else {
            0.0..16.01
        };
        assert!(adam_bytes.contains(&run.train.state_bytes_per_param), "{}", run.key);
    }
    let bytes = |key: &str| report.runs.iter().find(|r| r.key == key).unwrap().train.state_bytes_per_param;
    assert!(bytes("adamw-4bit") < bytes("adamw-8bit") && bytes("adamw-8bit") < bytes("adamw"));

    for name in ["loss.png", "rosenbrock.png"] {
        let bytes = std::fs::read(charts.join(name)).unwrap();
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 10_000, "{name}: {} bytes", bytes.len());
    }
    assert_eq!(report.plots, [charts.join("loss.png"), charts.join("rosenbrock.png")]);

    let bench = report.bench.as_ref().unwrap();
    // Muon's and SOAP's steps are matrix-multiply bound: they have no row in the
    // memory-bandwidth table; nor have the compact-state and bfloat16-weight variants
    // (bench_table measures those)
    assert_eq!(bench.kernels.len(), expected.len() - 6);
    assert!(bench.bandwidth.copy > 0.0 && bench.bandwidth.triad > 0.0);
    assert!(bench.kernels.iter().all(|(_, timing)| timing.gbps > 0.0));

    let printed = report.to_string();
    for needle in ["test acc", "Lion (custom)", "triad probe", "of triad", "f(end)"] {
        assert!(printed.contains(needle), "missing {needle:?} in\n{printed}");
    }
}

#[test]
fn skipping_plots_and_benchmark_writes_nothing() {
    let config = Config {
        optimizers: vec!["adam".into()],
        train: TrainSettings { epochs: 1, ..Config::default().train },
        out_dir: None,
        bench: None,
        progress: false,
        ..Config::default()
    };
    let report = run(&config).unwrap();
    assert_eq!(report.runs.len(), 1);
    assert!(report.plots.is_empty() && report.bench.is_none());
}

#[test]
fn unknown_optimizer_is_an_error_naming_the_choices() {
    let config = Config { optimizers: vec!["adamm".into()], ..Config::default() };
    let error = run(&config).unwrap_err().to_string();
    assert_eq!(
        error,
        "unknown optimizer `adamm`; choose from: sgd, asgd, adagrad, rmsprop, adadelta, rprop, adam, adamw, adamax, nadam, radam, lion, prodigy, sf-adamw, muon, soap, adamw-8bit, adamw-4bit, adamw-bf16, adamw-bf16-sr"
    );
}

fn showcase(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_showcase")).args(args).output().unwrap()
}

#[test]
fn cli_runs_a_reduced_setting() {
    let output = showcase(&["--optimizers", "sgd,lion", "--epochs", "1", "--no-plots", "--no-bench"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("SGD+momentum") && stdout.contains("Lion (custom)") && !stdout.contains("AdamW"));
    assert!(!stdout.contains("Kernel layer") && !stdout.contains("charts:"));
}

#[test]
fn cli_rejects_bad_flags_clearly() {
    let output = showcase(&["--optimizers", "adam,nope"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.contains("invalid value 'nope'") && stderr.contains("sgd, asgd, adagrad"), "{stderr}");

    let output = showcase(&["--epochs", "0"]);
    assert_eq!(output.status.code(), Some(2));

    let output = showcase(&["--frobnicate"]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("unexpected argument '--frobnicate'"));

    let help = showcase(&["--help"]);
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in ["--optimizers", "--epochs", "--out", "--no-plots", "--no-bench"] {
        assert!(help.contains(flag), "{flag} missing from\n{help}");
    }
}
