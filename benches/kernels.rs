//! Every built-in at the memory-bandwidth limit, side by side with what it is measured against.
//!
//! One criterion group per built-in, with `Throughput` set to the bytes the rule must move per
//! step (4 × (param read and written, gradient read, each present state read and written); in
//! decimal units, so criterion prints GB/s as `RESULTS.md` and the guide quote them), for one
//! tensor of 1K, 64K, 1M and 16M f32 elements and for 1000 tensors of 4096:
//!
//! - `naive`: the rule in ndarray expressions, one pass per operation (`kernels/naive.rs`);
//! - `baseline`: the fused kernel's baseline clone (SSE2 on x86-64) on one thread;
//! - the widest clone this CPU has (`avx512`, `avx2`) on one thread;
//! - `step`: the whole `Optimizer::step()`, on rayon's global pool (set `RAYON_NUM_THREADS`);
//!   at 1K elements it is dominated by the per-step overhead, which is part of what it measures.
//!
//! The `bandwidth` group runs STREAM's copy and triad over the same sizes, the streams of rules
//! with one to three states without their arithmetic (`rmw20`, `rmw28`, `rmw36`) and a read-only
//! sum (`read`, the yardstick of reduction passes), on one thread and on the pool, so the groups
//! above read as fractions of this machine's limit (`kernels/probe.rs`).
//!
//! Every zoo rule (`optim::zoo`) has a group `zoo/<name>` of its `step` alone (there is no naive
//! version), with `Throughput` the bytes of its read-only reduction passes plus its update pass
//! (`kernels/zoo_cases.rs`).
//!
//! Every state format (`optim::StateFormat`) has a group `format/<name>` of Adam's `step` with its
//! states in that format, with `Throughput` the bytes that format must move (param and gradient as
//! above, each state read and written as its codes plus its blocks' f32 scales; a tensor too small
//! for a block format keeps f32 state and is counted so; `kernels/formats.rs`).
//!
//! Adam over bfloat16 parameters (`optim::Bf16Optimizer`) has a group `bf16-params/<format>`
//! for f32, bf16 and 8-bit state, with `Throughput` the bytes it must move (param read and
//! written 4, gradient 2, each state as above).
//!
//! `cargo bench --bench kernels` runs it all in about 8 minutes on a 2-core machine (the naive
//! version at 16M overruns its second of measurement: criterion says so and carries on);
//! `cargo test --benches` runs each benchmark once, on smaller sizes. `benches/RESULTS.md` has
//! the figures and `examples/bench_table.rs` the summary tables.

#[path = "kernels/cases.rs"]
mod cases;
#[path = "kernels/fixture.rs"]
mod fixture;
#[path = "kernels/formats.rs"]
mod formats;
#[path = "kernels/naive.rs"]
mod naive;
#[path = "kernels/probe.rs"]
mod probe;
#[path = "kernels/zoo_cases.rs"]
mod zoo_cases;

use std::time::Duration;

use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput, measurement::WallTime};
use optim::{Rule, SimdLevel, StateFormat};

use crate::cases::Visit;
use crate::fixture::{
    Bf16Step, Kernel, NaiveRun, Shape, Step, bf16_step_params, bytes_per_element, present_states, step_params,
};
use crate::formats::{FORMATS, bytes_per_param};
use crate::naive::Naive;
use crate::probe::{Loop, Probe};
use crate::zoo_cases::{Bytes, VisitZoo};

const SHAPES: [Shape; 5] = [
    Shape::one(1 << 10),
    Shape::one(1 << 16),
    Shape::one(1 << 20),
    Shape::one(1 << 24),
    Shape { count: 1000, len: 4096 },
];

/// In test mode (`cargo test --benches`) criterion runs each benchmark once; the large shapes
/// would then only cost setup time, in a debug build.
const TEST_SHAPES: [Shape; 3] = [Shape::one(1 << 10), Shape::one(1 << 16), Shape { count: 10, len: 4096 }];

/// Criterion's own rule: benchmarks run only when cargo passes `--bench` (and not `--test`).
fn test_mode() -> bool {
    let args: Vec<String> = std::env::args().collect();
    !args.iter().any(|a| a == "--bench") || args.iter().any(|a| a == "--test")
}

fn group<'a>(c: &'a mut Criterion, name: &str, shape: Shape) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    if shape.elements() >= 1 << 20 {
        // a step of a large shape takes milliseconds: fixed iterations per sample keep a run short
        group.sampling_mode(SamplingMode::Flat);
    }
    group
}

/// The probe loops in the `bandwidth` group: the read-only sum, STREAM's two, and the
/// read-modify-write streams of rules with one to three states (20 to 36 bytes per element).
const PROBES: [Loop; 6] = [Loop::Read(1), Loop::Copy, Loop::Triad, Loop::Rmw(1), Loop::Rmw(2), Loop::Rmw(3)];

fn bandwidth(c: &mut Criterion, shapes: &[Shape]) {
    let level = SimdLevel::detected();
    for &shape in shapes.iter().filter(|s| s.count == 1) {
        let label = shape.label();
        let mut group = group(c, "bandwidth", shape);
        for kind in PROBES {
            let mut probe = Probe::new(kind, shape.len);
            group.throughput(Throughput::BytesDecimal(probe.bytes() as u64));
            let name = kind.name();
            group.bench_function(BenchmarkId::new(format!("{name}-1t"), &label), |b| b.iter(|| probe.run(level)));
            group.bench_function(BenchmarkId::new(format!("{name}-pool"), &label), |b| {
                b.iter(|| probe.run_parallel(level))
            });
        }
        group.finish();
    }
}

struct Bench<'a> {
    c: &'a mut Criterion,
    shapes: &'a [Shape],
}

impl Visit for Bench<'_> {
    fn visit<R: Rule>(&mut self, label: &'static str, hyper: R::Hyper, naive: fn() -> Box<dyn Naive>) {
        let best = SimdLevel::detected();
        let levels: &[SimdLevel] =
            if best == SimdLevel::Baseline { &[SimdLevel::Baseline] } else { &[SimdLevel::Baseline, best] };
        for &shape in self.shapes {
            let size = shape.label();
            let mut group = group(self.c, label, shape);
            group.throughput(Throughput::BytesDecimal((bytes_per_element::<R>(&hyper) * shape.elements()) as u64));
            let mut run = NaiveRun::new(naive, shape);
            group.bench_function(BenchmarkId::new("naive", &size), |b| b.iter(|| run.run()));
            drop(run);
            let mut kernel = Kernel::<R>::new(hyper.clone(), shape);
            for &level in levels {
                let name = format!("{level:?}").to_lowercase();
                group.bench_function(BenchmarkId::new(name, &size), |b| b.iter(|| kernel.run(level)));
            }
            drop(kernel);
            let mut step = Step::<R>::new(hyper.clone(), shape);
            group.bench_function(BenchmarkId::new("step", &size), |b| b.iter(|| step.run()));
            group.finish();
        }
    }
}

impl VisitZoo for Bench<'_> {
    fn visit_zoo<R: Rule>(&mut self, hyper: R::Hyper, bytes: Bytes) {
        for &shape in self.shapes {
            let mut group = group(self.c, &format!("zoo/{}", R::NAME), shape);
            group.throughput(Throughput::BytesDecimal((bytes.total() * shape.elements()) as u64));
            let mut step = Step::<R>::new(hyper.clone(), shape);
            group.bench_function(BenchmarkId::new("step", shape.label()), |b| b.iter(|| step.run()));
            group.finish();
        }
    }
}

/// Adam's step with its states in each format, one group per format: over f32 parameters
/// (`format/<name>`), and over bfloat16 ones with f32, bf16 and 8-bit state (`bf16-params/<name>`).
fn state_formats(c: &mut Criterion, shapes: &[Shape]) {
    use optim::builtins::Adam;
    let hyper = Adam::hyper();
    for format in FORMATS {
        format_group(c, shapes, "format", 4, format, |shape| {
            let mut step = Step::<Adam>::with_format(hyper, step_params(shape), format);
            move || step.run()
        });
    }
    for format in [StateFormat::Native, StateFormat::BFloat16, StateFormat::Int8] {
        format_group(c, shapes, "bf16-params", 2, format, |shape| {
            let mut step = Bf16Step::<Adam>::new(hyper, bf16_step_params(shape), format);
            move || step.run()
        });
    }
}

/// One group `prefix/<format>` of Adam's step at each shape, its parameters stored in
/// `param_bytes` bytes; `make` builds the step for a shape.
fn format_group<F: FnMut()>(
    c: &mut Criterion,
    shapes: &[Shape],
    prefix: &str,
    param_bytes: usize,
    format: StateFormat,
    make: impl Fn(Shape) -> F,
) {
    let states = present_states::<optim::builtins::Adam>(&optim::builtins::Adam::hyper());
    for &shape in shapes {
        let mut group = group(c, &format!("{prefix}/{}", format.name()), shape);
        let bytes = bytes_per_param(param_bytes, format, states, shape.len) * shape.elements() as f64;
        group.throughput(Throughput::BytesDecimal(bytes.round() as u64));
        let mut step = make(shape);
        group.bench_function(BenchmarkId::new("Adam", shape.label()), |b| b.iter(&mut step));
        group.finish();
    }
}

fn main() {
    let shapes: &[Shape] = if test_mode() { &TEST_SHAPES } else { &SHAPES };
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(10)
        .configure_from_args();
    bandwidth(&mut c, shapes);
    cases::builtins(&mut Bench { c: &mut c, shapes });
    zoo_cases::zoo(&mut Bench { c: &mut c, shapes });
    state_formats(&mut c, shapes);
    c.final_summary();
}
