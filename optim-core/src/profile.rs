//! Where one step's time goes, part by part ([`Optimizer::step_profiled`](crate::Optimizer::step_profiled)).

use std::time::{Duration, Instant};

/// The time each part of one [`Optimizer`](crate::Optimizer) step took, in the order the step
/// runs them: the checks and state creation, fused clipping's norm pass, each reduction pass
/// over memory, the scalar and row/column code between passes, and the update pass.
///
/// A rule's rustdoc states its passes and the arrays each one reads; dividing those bytes by a
/// pass's time gives its bandwidth ([`StepProfile::gb_per_s`]), to hold against the machine's
/// (`examples/bench_reduce.rs --passes` prints it for the rules with reduction passes). The
/// parts are measured on the calling thread around each parallel region, so they include the
/// region's start and join.
///
/// ```
/// use optim_core::{zoo::Lamb, Optimizer, Param};
///
/// let params: Vec<_> = (0..3)
///     .map(|_| {
///         let p = Param::new(ndarray::ArrayD::<f32>::ones(vec![64, 32]));
///         p.set_grad(ndarray::ArrayD::from_elem(vec![64, 32], 0.1));
///         p
///     })
///     .collect();
/// let mut opt = Optimizer::<Lamb, f32>::new(params, Lamb::hyper()).unwrap();
/// let profile = opt.step_profiled().unwrap();
/// // LAMB: one read-only pass (the norms of the parameter and of its update), then the update
/// assert_eq!(profile.reduction_passes.iter().filter(|p| p.ran()).count(), 1);
/// println!("norms: {:.1} GB/s", profile.reduction_passes[0].gb_per_s(16.0));
/// assert_eq!((profile.tensors, profile.elements), (3, 3 * 64 * 32));
/// assert!(profile.update <= profile.total);
/// println!("update pass: {:.1} GB/s", profile.gb_per_s(profile.update, 28.0));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepProfile {
    /// Hooks, checks, the parameters' locks, state creation and the first stage of every
    /// tensor's scalar program.
    pub prepare: Duration,
    /// Fused clipping's read-only pass over every gradient (`None` without
    /// [`set_grad_clip`](crate::Optimizer::set_grad_clip)).
    pub clip_norm: Option<Duration>,
    /// Each reduction pass of the rule, in order, with the elements it read this step: a pass
    /// whose reductions all sit under a condition false for every tensor (AdamW's `cautious`
    /// mean when `cautious` is off, AdaFactor's second pass over a vector) reads none. Empty
    /// for a rule without reductions and for a matrix rule (whose whole matrix stage is
    /// [`update`](Self::update)).
    pub reduction_passes: Vec<PassTime>,
    /// The scalar program and row/column code run between passes, all stages together.
    pub stages: Duration,
    /// The update pass (for a matrix rule, its matrix stage: products, element-wise code and
    /// the update).
    pub update: Duration,
    /// The whole step, from the call to its return.
    pub total: Duration,
    /// Tensors the step updated (those with a gradient).
    pub tensors: usize,
    /// Their elements.
    pub elements: usize,
}

/// One reduction pass of a profiled step ([`StepProfile::reduction_passes`]).
///
/// ```
/// use std::time::Duration;
/// use optim_core::PassTime;
///
/// let pass = PassTime { pass: 1, elements: 2_000_000, time: Duration::from_millis(1) };
/// assert_eq!(pass.gb_per_s(8.0), 16.0); // two float32 arrays read
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PassTime {
    /// The pass's number (1 for the first; the update pass comes after the last).
    pub pass: usize,
    /// Elements of the tensors that needed it (0: no tensor did, the pass read nothing).
    pub elements: usize,
    /// Its time, from the start of its parallel region to the end of its join.
    pub time: Duration,
}

impl PassTime {
    /// GB/s for `bytes_per_element` bytes read per element; 0 when nothing was read.
    pub fn gb_per_s(&self, bytes_per_element: f64) -> f64 {
        gb_per_s(self.elements, bytes_per_element, self.time)
    }

    /// Whether any tensor needed the pass this step.
    pub fn ran(&self) -> bool {
        self.elements > 0
    }
}

impl StepProfile {
    /// The bandwidth, in GB/s (10⁹ bytes per second), of a part of the step that took `time` and
    /// moved `bytes_per_element` bytes for each element stepped; 0 when `time` is zero.
    ///
    /// ```
    /// use std::time::Duration;
    /// use optim_core::StepProfile;
    ///
    /// let profile = StepProfile { elements: 1_000_000, ..StepProfile::default() };
    /// // 28 bytes per element (Adam's update pass) in 1 ms: 28 GB/s
    /// assert_eq!(profile.gb_per_s(Duration::from_millis(1), 28.0), 28.0);
    /// ```
    pub fn gb_per_s(&self, time: Duration, bytes_per_element: f64) -> f64 {
        gb_per_s(self.elements, bytes_per_element, time)
    }
}

/// GB/s of `elements × bytes_per_element` bytes moved in `time`; 0 for a zero time.
fn gb_per_s(elements: usize, bytes_per_element: f64, time: Duration) -> f64 {
    let seconds = time.as_secs_f64();
    if seconds == 0.0 { 0.0 } else { elements as f64 * bytes_per_element / seconds / 1e9 }
}

/// A stopwatch that reads the clock only when profiling: [`Lap::split`] returns the time since
/// the previous split (zero when off), so an unprofiled step makes no clock calls.
pub(crate) struct Lap {
    started: Option<Instant>,
    last: Option<Instant>,
}

impl Lap {
    pub(crate) fn new(on: bool) -> Self {
        let now = on.then(Instant::now);
        Lap { started: now, last: now }
    }

    /// When the stopwatch was made (now, when it is off).
    pub(crate) fn started(&self) -> Instant {
        self.started.unwrap_or_else(Instant::now)
    }

    pub(crate) fn split(&mut self) -> Duration {
        match &mut self.last {
            Some(last) => {
                let now = Instant::now();
                let elapsed = now - *last;
                *last = now;
                elapsed
            }
            None => Duration::ZERO,
        }
    }
}

impl<R: crate::Rule, T: crate::Element> crate::Optimizer<R, T> {
    /// [`step`](Self::step), returning where its time went (see [`StepProfile`]). The step and
    /// its errors are exactly `step`'s: the same numbers, nothing changed on error.
    ///
    /// ```
    /// use optim_core::{builtins::AdamW, GradClip, Optimizer, Param};
    ///
    /// let w = Param::new(ndarray::ArrayD::<f32>::ones(vec![1000]));
    /// let mut opt = Optimizer::<AdamW, f32>::new(vec![w.clone()], AdamW::hyper()).unwrap();
    /// opt.set_grad_clip(Some(GradClip::norm(1.0))).unwrap();
    /// w.set_grad(ndarray::ArrayD::from_elem(vec![1000], 0.5));
    /// let profile = opt.step_profiled().unwrap();
    /// assert!(profile.clip_norm.is_some());
    /// assert!(!profile.reduction_passes.iter().any(|p| p.ran())); // `cautious` is off
    /// assert_eq!(opt.last_grad_norm(), Some(0.5 * 1000f64.sqrt()));
    /// ```
    ///
    /// # Errors
    /// As [`step`](Self::step).
    pub fn step_profiled(&mut self) -> Result<StepProfile, crate::OptimError> {
        let mut profile = StepProfile::default();
        self.step_with(Some(&mut profile))?;
        Ok(profile)
    }
}
