//! Kernel-layer throughput beside the machine's own memory bandwidth.
//!
//! An optimizer step on a large tensor does a few flops per element and is bound by memory
//! traffic, so the honest yardstick is the bandwidth a plain loop reaches on the same machine:
//! STREAM's *copy* (`b = a`) and *triad* (`a = b + s·c`) over arrays of the same size. Everything
//! here runs on one thread, and each figure is the best of several repetitions.

use std::hint::black_box;
use std::time::{Duration, Instant};

use optim::SimdLevel;
use optim::prelude::*;

/// Memory bandwidth measured by simple probes, in GB/s (10⁹ bytes per second).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bandwidth {
    /// `b[i] = a[i]`: 8 bytes per f32 element.
    pub copy: f64,
    /// `a[i] = b[i] + s * c[i]`: 12 bytes per f32 element.
    pub triad: f64,
}

/// The step number of the warm-up step in [`time_kernel`]; the timed steps follow it.
pub const STEADY_STEP: u64 = 100;

/// One rule's fused step over a large tensor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KernelTiming {
    /// Bytes the step reads and writes per element: 4 × (param read and written, gradient read,
    /// each present state read and written).
    pub bytes_per_element: usize,
    /// The fastest step.
    pub best: Duration,
    /// Bytes moved per second by the fastest step, in GB/s.
    pub gbps: f64,
}

/// Measures copy and triad bandwidth over f32 arrays of `elements` elements.
///
/// ```
/// let bandwidth = showcase::bench::probe_bandwidth(1 << 12, 3);
/// assert!(bandwidth.copy > 0.0 && bandwidth.triad > 0.0);
/// ```
pub fn probe_bandwidth(elements: usize, repeats: usize) -> Bandwidth {
    let mut a = Buffer::new(0, elements, |_| 1.0);
    let mut b = Buffer::new(1, elements, |_| 2.0);
    let c = Buffer::new(2, elements, |_| 0.5);
    let (a, b, c) = (a.slice_mut(), b.slice_mut(), c.slice());
    let scale = black_box(3.0f32);
    let copy = best_of(repeats, || {
        b.copy_from_slice(black_box(a));
        black_box(&mut *b);
    });
    let triad = best_of(repeats, || {
        for ((a, b), c) in a.iter_mut().zip(black_box(&*b)).zip(c) {
            *a = b + scale * c;
        }
        black_box(&mut *a);
    });
    Bandwidth { copy: gbps(8 * elements, copy), triad: gbps(12 * elements, triad) }
}

/// Times `R::prepare` + `R::apply` (the kernel layer: plain slices, no optimizer) on `elements`
/// f32 elements with hyperparameters `hyper`, after one untimed warm-up step.
///
/// Step numbers start at [`STEADY_STEP`], so the timing is of the loop a long run spends its
/// time in, not of special first steps (SGD's buffer copy, RAdam's un-adapted warm-up).
///
/// ```
/// use optim::prelude::*;
/// let timing = showcase::bench::time_kernel::<Adam>(&Adam::hyper(), 1 << 12, 3);
/// assert_eq!(timing.bytes_per_element, 4 * (2 + 1 + 2 + 2)); // param, grad, exp_avg, exp_avg_sq
/// ```
pub fn time_kernel<R: Rule>(hyper: &R::Hyper, elements: usize, repeats: usize) -> KernelTiming {
    let mut param = Buffer::new(0, elements, |_| 1.0);
    let grad = Buffer::new(1, elements, |i| (i % 7) as f32 * 1e-3 - 3e-3);
    let mut states: Vec<Buffer> = (0..R::STATES.len())
        .map(|i| match R::state_present(hyper, &[elements], i) {
            true => {
                let init = R::state_init(hyper, i) as f32;
                Buffer::new(2 + i, elements, |_| init)
            }
            false => Buffer::new(2 + i, 0, |_| 0.0),
        })
        .collect();
    let present = states.iter().filter(|state| !state.slice().is_empty()).count();
    let mut scalar_states: Vec<f64> = (0..R::SCALAR_STATES.len()).map(|i| R::scalar_state_init(hyper, i)).collect();
    let mut state_slices: Vec<&mut [f32]> = states.iter_mut().map(Buffer::slice_mut).collect();
    let (param, grad) = (param.slice_mut(), grad.slice());

    let mut step = STEADY_STEP - 1;
    let level = SimdLevel::detected();
    let mut take_step = || {
        step += 1;
        // every pass of the step: a rule with reductions reads memory more than once
        let shape = [elements];
        R::step_slices(
            level,
            hyper,
            step,
            &mut scalar_states,
            &shape,
            black_box(&mut *param),
            black_box(grad),
            &mut state_slices,
        );
    };
    take_step();
    let best = best_of(repeats, take_step);
    let bytes_per_element = 4 * (2 + 1 + 2 * present);
    KernelTiming { bytes_per_element, best, gbps: gbps(bytes_per_element * elements, best) }
}

/// An array whose start is shifted by a different amount for each `index`.
///
/// Large allocations all start at the same offset within a page; streams whose addresses then
/// agree in their low bits collide in the caches (4K aliasing) and run at a fraction of the
/// bandwidth. STREAM offsets its arrays for the same reason.
struct Buffer {
    data: Vec<f32>,
    start: usize,
    len: usize,
}

impl Buffer {
    /// Elements between the starts of consecutive buffers' data (1,088 bytes: not a divisor of
    /// a 4 KiB page, so eight buffers land at eight different offsets).
    const STAGGER: usize = 272;

    /// A buffer of `len` elements, `fill(i)` at element `i`, written once so that every page is
    /// mapped before timing.
    fn new(index: usize, len: usize, fill: impl Fn(usize) -> f32) -> Self {
        let start = index * Self::STAGGER % 1024;
        let data = (0..start + len).map(|i| if i < start { 0.0 } else { fill(i - start) }).collect();
        Buffer { data, start, len }
    }

    fn slice(&self) -> &[f32] {
        &self.data[self.start..self.start + self.len]
    }

    fn slice_mut(&mut self) -> &mut [f32] {
        &mut self.data[self.start..self.start + self.len]
    }
}

fn best_of(repeats: usize, mut run: impl FnMut()) -> Duration {
    (0..repeats.max(1))
        .map(|_| {
            let started = Instant::now();
            run();
            started.elapsed()
        })
        .min()
        .expect("at least one repetition")
}

fn gbps(bytes: usize, time: Duration) -> f64 {
    bytes as f64 / time.as_secs_f64().max(1e-12) / 1e9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_count_only_the_states_that_exist() {
        let plain = time_kernel::<Sgd>(&Sgd::hyper().lr(0.1), 256, 1);
        let momentum = time_kernel::<Sgd>(&Sgd::hyper().lr(0.1).momentum(0.9), 256, 1);
        let amsgrad = time_kernel::<Adam>(&Adam::hyper().amsgrad(true), 256, 1);
        assert_eq!([plain.bytes_per_element, momentum.bytes_per_element, amsgrad.bytes_per_element], [12, 20, 36]);
    }

    #[test]
    fn buffers_start_at_different_offsets_within_a_page() {
        let starts: Vec<usize> = (0..8).map(|i| Buffer::new(i, 4, |_| 1.0).start * 4 % 4096).collect();
        let mut distinct = starts.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 8, "{starts:?}");
        assert_eq!(Buffer::new(5, 3, |i| i as f32).slice(), [0.0, 1.0, 2.0]);
    }
}
