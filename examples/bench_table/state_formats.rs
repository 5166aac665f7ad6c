//! `bench_table`'s "State formats" table: Adam and AdamW over one large tensor with their states
//! in each `StateFormat`, the step's time against the bytes that format must move, and the memory
//! the states take, from `ParamState::state_bytes` and from a counting global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use optim::{Rule, StateFormat};

use crate::fixture::{Bf16Step, Shape, Step, bf16_step_params, present_states, step_params};
use crate::formats::{FORMATS, VisitFormats, bytes_per_param};
use crate::probe::Loop;
use crate::{gbps, median, median_time};

/// The system allocator, counting the bytes live now and the most live since [`peak_during`]
/// last reset it. Steps allocate nothing after the first, so the counting costs the timings
/// nothing; it is here to see what a format really saves, transient buffers included.
pub struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to `System` unchanged; only the counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's contract, passed on.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract, passed on.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        new
    }
}

/// `run`'s result and the most bytes it had allocated at once beyond what was live before it.
fn peak_during<T>(run: impl FnOnce() -> T) -> (T, usize) {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    let result = run();
    (result, PEAK.load(Ordering::Relaxed).saturating_sub(before))
}

/// One rule in one format at the large size.
#[derive(Clone)]
pub struct FormatRow {
    rule: &'static str,
    /// The parameters' and gradients' dtype: `f32` (`Optimizer`) or `bf16` (`Bf16Optimizer`).
    params: &'static str,
    format: StateFormat,
    /// States the rule has (the *rmw* probe with as many streams is its yardstick).
    states: usize,
    /// Bytes the step moves per parameter element (see `formats::bytes_per_param`).
    bytes: f64,
    /// Seconds per `Optimizer::step()`.
    step: f64,
    /// `ParamState::state_bytes` after the first step.
    state_bytes: usize,
    /// The most bytes allocated at once while the optimizer was built, given its format and
    /// stepped once (the parameters and gradients were allocated before).
    peak_bytes: usize,
}

/// Measures every rule of `formats::rules` in every format.
pub struct MeasureFormats {
    pub large: Shape,
    pub reps: usize,
    pub rows: Vec<FormatRow>,
}

impl VisitFormats for MeasureFormats {
    fn visit_formats<R: Rule>(&mut self, label: &'static str, hyper: R::Hyper) {
        // parameters and gradients are allocated before the count starts
        for format in FORMATS {
            let params = step_params(self.large);
            let (mut step, peak_bytes) = peak_during(|| Step::<R>::with_format(hyper.clone(), params, format));
            let state_bytes = step.state_bytes();
            self.push::<R>(label, "f32", format, &hyper, || step.run(), state_bytes, peak_bytes);
        }
        // the same rule over bfloat16 parameters and gradients (`Bf16Optimizer`)
        for format in FORMATS {
            let params = bf16_step_params(self.large);
            let (mut step, peak_bytes) = peak_during(|| Bf16Step::<R>::new(hyper.clone(), params, format));
            let state_bytes = step.state_bytes();
            self.push::<R>(label, "bf16", format, &hyper, || step.run(), state_bytes, peak_bytes);
        }
    }
}

impl MeasureFormats {
    /// Times `step` (rule `R` over `params`-typed parameters, states in `format`) into a row.
    #[allow(clippy::too_many_arguments)]
    fn push<R: Rule>(
        &mut self,
        rule: &'static str,
        params: &'static str,
        format: StateFormat,
        hyper: &R::Hyper,
        step: impl FnMut(),
        state_bytes: usize,
        peak_bytes: usize,
    ) {
        let states = present_states::<R>(hyper);
        let param_bytes = if params == "bf16" { 2 } else { 4 };
        let seconds = median_time(self.reps, 1, step);
        self.rows.push(FormatRow {
            rule,
            params,
            format,
            states,
            bytes: bytes_per_param(param_bytes, format, states, self.large.len),
            step: seconds,
            state_bytes,
            peak_bytes,
        });
    }
}

/// Every row's step time (and peak) as its median over `rounds`.
pub fn median_rows(rounds: &[&[FormatRow]]) -> Vec<FormatRow> {
    let first = rounds[0];
    let over = |i: usize, figure: &dyn Fn(&FormatRow) -> f64| median(rounds.iter().map(|r| figure(&r[i])).collect());
    (0..first.len())
        .map(|i| FormatRow {
            step: over(i, &|r| r.step),
            peak_bytes: over(i, &|r| r.peak_bytes as f64) as usize,
            ..first[i].clone()
        })
        .collect()
}

/// A row's derived figures, for the table and the JSON alike.
struct Figures {
    gbps: f64,
    /// The pool's *rmw* probe with the rule's streams, its name and GB/s.
    rmw: (String, f64),
    /// The rule's native step time over this row's.
    speedup: f64,
    state_per_param: f64,
    peak_per_param: f64,
}

fn figures(rows: &[FormatRow], row: &FormatRow, elements: usize, probe: &dyn Fn(Loop) -> f64) -> Figures {
    let native = rows
        .iter()
        .find(|r| r.rule == row.rule && r.params == "f32" && r.format == StateFormat::Native)
        .map_or(f64::NAN, |r| r.step);
    let rmw = Loop::Rmw(row.states);
    Figures {
        gbps: row.bytes * elements as f64 / row.step / 1e9,
        rmw: (rmw.name(), probe(rmw)),
        speedup: native / row.step,
        state_per_param: row.state_bytes as f64 / elements as f64,
        peak_per_param: row.peak_bytes as f64 / elements as f64,
    }
}

/// The table, for the rows of a pool of `threads`; `rounds` gives the range of the step's GB/s, `probe`
/// the pool's GB/s of a probe loop in the same run.
pub fn markdown(
    rows: &[FormatRow],
    rounds: &[&[FormatRow]],
    large: Shape,
    threads: usize,
    probe: &dyn Fn(Loop) -> f64,
) {
    let elements = large.elements();
    let threads = on_threads(threads, rounds.len());
    let mut yardsticks: Vec<String> = Vec::new();
    for row in rows {
        let (name, rate) = figures(rows, row, elements, probe).rmw;
        let text = format!("{name} {rate:.1} GB/s");
        if !yardsticks.contains(&text) {
            yardsticks.push(text);
        }
    }
    println!(
        "State formats, `step` at {} (one tensor, whole blocks){threads}: the bytes each format must move per \
         parameter (param read+write 8, grad 4 — with bf16 parameters (`Bf16Optimizer`) 4 and 2 — each state \
         read+write: f32 8, bf16 4, int8/fp8 2 + 8/256 of scales, int4 1 + 8/128), their GB/s (range over the \
         rounds) and its fraction of the same run's `rmw` probe with the rule's streams (param, grad and each \
         state as f32: {}), the speed-up over f32 parameters with native (f32) state, the states' bytes per \
         parameter from `state_bytes()` and the most bytes per parameter the allocator had given out at once \
         while the optimizer was built and stepped once (the parameters not counted).\n",
        large.label(),
        yardsticks.join(", "),
    );
    println!(
        "| rule | params | state format | B/param moved | step | GB/s | / rmw | speed-up over f32 native | state B/param | peak B/param |"
    );
    println!("|---|---|---|--:|--:|--:|--:|--:|--:|--:|");
    for (i, row) in rows.iter().enumerate() {
        let f = figures(rows, row, elements, probe);
        let rates = rounds.iter().map(|r| gbps((r[i].bytes * elements as f64) as usize, r[i].step));
        let (low, high) = rates.fold((f64::INFINITY, 0.0f64), |(low, high), x| (low.min(x), high.max(x)));
        let range = if rounds.len() > 1 { format!(" ({low:.0}–{high:.0})") } else { String::new() };
        println!(
            "| {} | {} | {} | {} | {:.2} ms | {:.1}{range} | {:.0}% | {:.2}× | {:.3} | {:.3} |",
            row.rule,
            row.params,
            row.format.name(),
            trimmed(row.bytes),
            row.step * 1e3,
            f.gbps,
            100.0 * f.gbps / f.rmw.1,
            f.speedup,
            f.state_per_param,
            f.peak_per_param,
        );
    }
    println!();
}

/// The rows as JSON, with the same derived figures as the table.
pub fn json(rows: &[FormatRow], large: Shape, probe: &dyn Fn(Loop) -> f64) -> serde_json::Value {
    let elements = large.elements();
    rows.iter()
        .map(|row| {
            let f = figures(rows, row, elements, probe);
            serde_json::json!({
                "rule": row.rule,
                "param_dtype": if row.params == "bf16" { "bfloat16" } else { "float32" },
                "format": row.format.name(),
                "bytes_per_param": row.bytes,
                "step_s": row.step,
                "gbps": f.gbps,
                "rmw_probe": f.rmw.0,
                "rmw_pool_gbps": f.rmw.1,
                "speedup_over_native": f.speedup,
                "state_bytes_per_param": f.state_per_param,
                "peak_bytes_per_param": f.peak_per_param,
            })
        })
        .collect()
}

fn on_threads(threads: usize, rounds: usize) -> String {
    let plural = if threads == 1 { "" } else { "s" };
    format!(" on {threads} thread{plural}, median of {rounds} round{}", if rounds == 1 { "" } else { "s" })
}

/// 16.0625 as is, 28 without decimals.
fn trimmed(bytes: f64) -> String {
    let text = format!("{bytes:.4}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}
