//! Saved scheduler states: named plain values, read back with every key and length checked.

use crate::{OptimError, Result};

/// One saved value of a [`SchedulerState`].
///
/// ```
/// use optim_core::lr_scheduler::StateValue;
/// assert_eq!(StateValue::Floats(vec![0.1, 0.2]).kind(), "a list of floats");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum StateValue {
    /// An integer, such as `last_epoch`.
    Int(i64),
    /// A float, such as `gamma`.
    Float(f64),
    /// One float per param group, such as `base_lrs`.
    Floats(Vec<f64>),
    /// A list of integers, such as `milestones`.
    Ints(Vec<i64>),
    /// A word, such as a mode (`"min"`, `"triangular2"`).
    Text(String),
}

impl StateValue {
    /// A short description of the value's type, for error messages.
    ///
    /// ```
    /// use optim_core::lr_scheduler::StateValue;
    /// assert_eq!(StateValue::Int(3).kind(), "an integer");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            StateValue::Int(_) => "an integer",
            StateValue::Float(_) => "a float",
            StateValue::Floats(_) => "a list of floats",
            StateValue::Ints(_) => "a list of integers",
            StateValue::Text(_) => "a word",
        }
    }
}

/// A scheduler's saved state, PyTorch's `scheduler.state_dict()`: the policy's arguments and
/// progress by name, plus the states of a composite's members in order.
///
/// Every field is plain data, so any serializer can store it.
///
/// ```
/// use optim_core::builtins::Sgd;
/// use optim_core::lr_scheduler::{LrScheduler, StateValue, StepLR};
/// use optim_core::Param;
///
/// let mut opt = Sgd::optimizer(vec![Param::new(ndarray::arr1(&[0.0f64]).into_dyn())], Sgd::hyper()).unwrap();
/// let mut sched = StepLR::new(&mut opt, 2, 0.5).unwrap();
/// sched.step(&mut opt).unwrap();
/// let state = sched.state_dict();
/// assert_eq!(state.get("last_epoch"), Some(&StateValue::Int(1)));
/// assert!(state.children.is_empty());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SchedulerState {
    /// The scheduler's kind, PyTorch's class name (`"StepLR"`).
    pub scheduler: String,
    /// Named values, in a fixed order per kind.
    pub entries: Vec<(String, StateValue)>,
    /// The members' states, for [`SequentialLR`](super::SequentialLR) and
    /// [`ChainedScheduler`](super::ChainedScheduler).
    pub children: Vec<SchedulerState>,
}

impl SchedulerState {
    /// The value saved under `key`.
    ///
    /// ```
    /// use optim_core::lr_scheduler::{SchedulerState, StateValue};
    /// let state = SchedulerState {
    ///     scheduler: "ExponentialLR".into(),
    ///     entries: vec![("gamma".into(), StateValue::Float(0.9))],
    ///     children: vec![],
    /// };
    /// assert_eq!(state.get("gamma"), Some(&StateValue::Float(0.9)));
    /// assert_eq!(state.get("step_size"), None);
    /// ```
    pub fn get(&self, key: &str) -> Option<&StateValue> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}

/// Builds a [`SchedulerState`].
pub(crate) struct StateWriter {
    state: SchedulerState,
}

impl StateWriter {
    pub(crate) fn new(scheduler: &str) -> Self {
        StateWriter {
            state: SchedulerState { scheduler: scheduler.to_owned(), entries: Vec::new(), children: Vec::new() },
        }
    }

    fn put(&mut self, key: &str, value: StateValue) {
        self.state.entries.push((key.to_owned(), value));
    }

    pub(crate) fn int(&mut self, key: &str, value: i64) {
        self.put(key, StateValue::Int(value));
    }

    pub(crate) fn float(&mut self, key: &str, value: f64) {
        self.put(key, StateValue::Float(value));
    }

    pub(crate) fn floats(&mut self, key: &str, values: &[f64]) {
        self.put(key, StateValue::Floats(values.to_vec()));
    }

    pub(crate) fn ints(&mut self, key: &str, values: impl IntoIterator<Item = i64>) {
        self.put(key, StateValue::Ints(values.into_iter().collect()));
    }

    pub(crate) fn text(&mut self, key: &str, value: &str) {
        self.put(key, StateValue::Text(value.to_owned()));
    }

    pub(crate) fn child(&mut self, state: SchedulerState) {
        self.state.children.push(state);
    }

    pub(crate) fn finish(self) -> SchedulerState {
        self.state
    }
}

/// Reads a [`SchedulerState`] of one kind, key by key; [`StateReader::finish`] refuses keys that
/// were not read.
pub(crate) struct StateReader<'a> {
    state: &'a SchedulerState,
    scheduler: &'static str,
    read: Vec<bool>,
}

impl<'a> StateReader<'a> {
    pub(crate) fn new(state: &'a SchedulerState, scheduler: &'static str) -> Result<Self> {
        let reader = StateReader { state, scheduler, read: vec![false; state.entries.len()] };
        if state.scheduler != scheduler {
            return Err(reader.error(format!("it was saved from a {}", state.scheduler)));
        }
        Ok(reader)
    }

    pub(crate) fn error(&self, message: impl Into<String>) -> OptimError {
        OptimError::SchedulerState { scheduler: self.scheduler, message: message.into() }
    }

    /// Turns a constructor's refusal of a loaded value into a state error.
    pub(crate) fn check<T>(&self, result: Result<T>) -> Result<T> {
        result.map_err(|error| match error {
            OptimError::InvalidArgument { message, .. } => self.error(message),
            other => other,
        })
    }

    fn take(&mut self, key: &str) -> Result<&'a StateValue> {
        let mut found = self.state.entries.iter().enumerate().filter(|(_, (k, _))| k == key);
        match (found.next(), found.next()) {
            (Some((index, (_, value))), None) => {
                self.read[index] = true;
                Ok(value)
            }
            (None, _) => Err(self.error(format!("`{key}` is missing"))),
            (Some(_), Some(_)) => Err(self.error(format!("`{key}` appears more than once"))),
        }
    }

    fn mismatch(&self, key: &str, expected: &str, got: &StateValue) -> OptimError {
        self.error(format!("`{key}` should be {expected}, not {}", got.kind()))
    }

    pub(crate) fn int(&mut self, key: &str) -> Result<i64> {
        match self.take(key)? {
            StateValue::Int(v) => Ok(*v),
            other => Err(self.mismatch(key, "an integer", other)),
        }
    }

    /// A non-negative integer.
    pub(crate) fn count(&mut self, key: &str) -> Result<u64> {
        let value = self.int(key)?;
        u64::try_from(value).map_err(|_| self.error(format!("`{key}` = {value} should not be negative")))
    }

    /// An epoch counter (`last_epoch`): from -1 (before the initial step) to
    /// [`MAX_EPOCH`](super::policy::MAX_EPOCH), so that counting on can never overflow.
    pub(crate) fn epoch(&mut self, key: &str) -> Result<i64> {
        let value = self.int(key)?;
        if !(-1..=super::policy::MAX_EPOCH).contains(&value) {
            return Err(self.error(format!("`{key}` = {value} is out of range (-1 to 2^53)")));
        }
        Ok(value)
    }

    /// A step counter: from 0 to [`MAX_EPOCH`](super::policy::MAX_EPOCH).
    pub(crate) fn counter(&mut self, key: &str) -> Result<u64> {
        let value = self.count(key)?;
        if value > super::policy::MAX_EPOCH as u64 {
            return Err(self.error(format!("`{key}` = {value} is out of range (0 to 2^53)")));
        }
        Ok(value)
    }

    /// An epoch count of at least `min`, checked as the constructors check it.
    pub(crate) fn epochs(&mut self, key: &str, min: u64) -> Result<i64> {
        let value = self.count(key)?;
        self.check(super::epochs(self.scheduler, key, value, min))
    }

    pub(crate) fn float(&mut self, key: &str) -> Result<f64> {
        match self.take(key)? {
            StateValue::Float(v) => Ok(*v),
            StateValue::Int(v) => Ok(*v as f64),
            other => Err(self.mismatch(key, "a float", other)),
        }
    }

    /// A float that may be absent.
    pub(crate) fn maybe_float(&mut self, key: &str) -> Result<Option<f64>> {
        if self.state.get(key).is_none() {
            return Ok(None);
        }
        self.float(key).map(Some)
    }

    /// A list of exactly `len` floats (one per param group).
    pub(crate) fn floats(&mut self, key: &str, len: usize) -> Result<Vec<f64>> {
        match self.take(key)? {
            StateValue::Floats(v) if v.len() == len => Ok(v.clone()),
            StateValue::Floats(v) => {
                Err(self.error(format!("`{key}` has {} values but the scheduler has {len} param groups", v.len())))
            }
            other => Err(self.mismatch(key, "a list of floats", other)),
        }
    }

    /// A list of non-negative integers.
    pub(crate) fn counts(&mut self, key: &str) -> Result<Vec<u64>> {
        match self.take(key)? {
            StateValue::Ints(v) => v
                .iter()
                .map(|&x| u64::try_from(x).map_err(|_| self.error(format!("`{key}` holds {x}, which is negative"))))
                .collect(),
            other => Err(self.mismatch(key, "a list of integers", other)),
        }
    }

    pub(crate) fn text(&mut self, key: &str) -> Result<&'a str> {
        match self.take(key)? {
            StateValue::Text(v) => Ok(v),
            other => Err(self.mismatch(key, "a word", other)),
        }
    }

    pub(crate) fn children(&self) -> &'a [SchedulerState] {
        &self.state.children
    }

    pub(crate) fn no_children(&self) -> Result<()> {
        if self.state.children.is_empty() {
            Ok(())
        } else {
            Err(self
                .error(format!("it has {} member states but this scheduler has no members", self.state.children.len())))
        }
    }

    pub(crate) fn finish(self) -> Result<()> {
        match self.read.iter().position(|read| !read) {
            None => Ok(()),
            Some(index) => Err(self.error(format!("unexpected key `{}`", self.state.entries[index].0))),
        }
    }
}
