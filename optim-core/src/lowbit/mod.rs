//! Optimizer state in fewer bytes: bfloat16, 8-bit and 4-bit block-wise codes, and float8, for
//! any rule, chosen when the optimizer is built (the spec stays pure math).
//!
//! The block formats are torchao's (`AdamW8bit`, `AdamW4bit`, `AdamWFp8`) exactly: each block of
//! a flattened state is divided by its largest magnitude and each value stored as the nearest
//! entry of a lookup table (8-bit: bitsandbytes' 256-entry dynamic map; 4-bit: 16 entries, two
//! codes per byte) or as a float8 e4m3fn value. A state the macro proves never negative (Adam's
//! `exp_avg_sq`, see [`crate::StateDecl::non_negative`]) uses the unsigned map, which spends no
//! codes on negative values. As in torchao, a state with fewer than 4096 elements, or not a
//! whole number of blocks, or with one value per row or column, stays in the element type.
//!
//! Every pass decodes a tile of whole blocks into a small buffer, runs the rule's own kernel on
//! it, and re-codes the blocks the step changed, in the same sweep over memory. The kernel reads
//! the values it computed before they are re-coded, as torchao's step does.
//!
//! Coding gives torchao's codes bit for bit at every SIMD level and thread count, but not by
//! torchao's arithmetic: the binary search over the map is a table lookup on the value's bits
//! (`search.rs`, checked against the search for every float32), the division by the scale a
//! float64 product that rounds the same (`codec.rs`), and the loops are vector code
//! (`vector/`).
//!
//! ```
//! use optim_core::{builtins::AdamW, Optimizer, Param, StateFormat};
//! let w = Param::new(ndarray::ArrayD::<f32>::ones(vec![64, 128]));
//! let mut opt = Optimizer::<AdamW, f32>::new(vec![w.clone()], AdamW::hyper()).unwrap();
//! opt.set_state_format(StateFormat::Int8).unwrap();
//! w.set_grad(ndarray::ArrayD::from_elem(vec![64, 128], 0.5));
//! opt.step().unwrap();
//! let state = opt.state(0, 0).unwrap();
//! assert_eq!(state.format("exp_avg"), Some(StateFormat::Int8));
//! // read back decoded: 0.1 * 0.5, up to the 8-bit code's rounding
//! assert!((state.tensor("exp_avg").unwrap()[[0, 0]] - 0.05).abs() < 1e-3);
//! assert!(state.state_bytes() < 2 * 64 * 128 + 1024);
//! ```

pub mod bench;
mod codec;
mod fp8;
mod packed;
mod qmap;
mod search;
#[cfg(test)]
mod tests;
pub(crate) mod tiles;
mod vector;

pub(crate) use packed::{PackedMut, PackedRef, PackedState};

/// How a state tensor is stored between steps.
///
/// ```
/// use optim_core::StateFormat;
/// assert_eq!(StateFormat::Int4.block_size(), 128);
/// assert!(StateFormat::Int8.applies_to(4096) && !StateFormat::Int8.applies_to(4000));
/// assert_eq!(StateFormat::default(), StateFormat::Native);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum StateFormat {
    /// The optimizer's element type (`f32` or `f64`), unrounded: PyTorch's optimizers.
    #[default]
    Native,
    /// bfloat16, rounded to nearest even from float32: 2 bytes per element.
    BFloat16,
    /// 8-bit codes of the dynamic map, one float32 scale per block of 256 (torchao's
    /// `AdamW8bit`): 1.016 bytes per element.
    Int8,
    /// 4-bit codes, two per byte, one scale per block of 128 (torchao's `AdamW4bit`): 0.53
    /// bytes per element.
    Int4,
    /// float8 e4m3fn codes, one scale (largest magnitude / 448) per block of 256 (torchao's
    /// `AdamWFp8`): 1.016 bytes per element.
    Fp8,
}

impl StateFormat {
    /// Every compact format.
    pub const COMPACT: [StateFormat; 4] =
        [StateFormat::BFloat16, StateFormat::Int8, StateFormat::Int4, StateFormat::Fp8];

    /// Elements per scale (256 for bfloat16 and the native type, which have none: the
    /// size of the tiles they are decoded in).
    ///
    /// ```
    /// assert_eq!(optim_core::StateFormat::Fp8.block_size(), 256);
    /// ```
    pub fn block_size(self) -> usize {
        match self {
            StateFormat::Int4 => 128,
            _ => 256,
        }
    }

    /// Whether a state of `len` elements is stored in this format: torchao codes a tensor only
    /// when it has at least 4096 elements and a whole number of blocks; bfloat16 applies to any.
    ///
    /// ```
    /// use optim_core::StateFormat;
    /// assert!(StateFormat::BFloat16.applies_to(3) && !StateFormat::Native.applies_to(4096));
    /// ```
    pub fn applies_to(self, len: usize) -> bool {
        StateFormats::default().stores(self, len)
    }

    /// Bytes of codes for `len` elements.
    pub(crate) fn code_bytes(self, len: usize) -> usize {
        match self {
            StateFormat::Int4 => len / 2,
            StateFormat::BFloat16 | StateFormat::Native => 2 * len,
            StateFormat::Int8 | StateFormat::Fp8 => len,
        }
    }

    /// Scales for `len` elements.
    pub(crate) fn blocks(self, len: usize) -> usize {
        match self {
            StateFormat::BFloat16 | StateFormat::Native => 0,
            _ => len / self.block_size(),
        }
    }

    /// The name checkpoints record.
    ///
    /// ```
    /// use optim_core::StateFormat;
    /// assert_eq!(StateFormat::from_name(StateFormat::Int4.name()), Some(StateFormat::Int4));
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            StateFormat::Native => "native",
            StateFormat::BFloat16 => "bfloat16",
            StateFormat::Int8 => "int8",
            StateFormat::Int4 => "int4",
            StateFormat::Fp8 => "fp8",
        }
    }

    /// The format a checkpoint names, if any.
    ///
    /// ```
    /// assert_eq!(optim_core::StateFormat::from_name("fp9"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<StateFormat> {
        [StateFormat::Native].into_iter().chain(StateFormat::COMPACT).find(|f| f.name() == name)
    }
}

/// A packed state's storage, as [`crate::ParamState::codes`] shows it.
///
/// ```
/// use optim_core::{Codes, StateFormat};
/// let c = Codes { format: StateFormat::Int8, signed: true, codes: &[127; 256], scales: &[0.5] };
/// assert_eq!(c.codes.len(), 256);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Codes<'a> {
    /// The format.
    pub format: StateFormat,
    /// Coded with the signed lookup table (8-bit and 4-bit).
    pub signed: bool,
    /// One byte per element (8-bit, float8), two codes per byte with the even element in the
    /// high half (4-bit), or bfloat16 bits, two little-endian bytes per element.
    pub codes: &'a [u8],
    /// One float32 scale per block (none for bfloat16).
    pub scales: &'a [f32],
}

/// The storage format of each state of a param group: one for every state, with overrides by
/// state name.
///
/// ```
/// use optim_core::{StateFormat, StateFormats};
/// let formats = StateFormats::all(StateFormat::Int8).with("exp_avg_sq", StateFormat::BFloat16);
/// assert_eq!(formats.format_of("exp_avg"), StateFormat::Int8);
/// assert_eq!(formats.format_of("exp_avg_sq"), StateFormat::BFloat16);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateFormats {
    default: StateFormat,
    by_name: Vec<(String, StateFormat)>,
    /// The fewest elements a state must have to be stored in a block format.
    min_elements: usize,
}

/// torchao's threshold: smaller tensors gain little and pay a scale per block.
const MIN_ELEMENTS: usize = 4096;

impl Default for StateFormats {
    fn default() -> Self {
        StateFormats { default: StateFormat::Native, by_name: Vec::new(), min_elements: MIN_ELEMENTS }
    }
}

impl StateFormats {
    /// `format` for every state.
    ///
    /// ```
    /// let f = optim_core::StateFormats::all(optim_core::StateFormat::Int4);
    /// assert_eq!(f.format_of("anything"), optim_core::StateFormat::Int4);
    /// ```
    pub fn all(format: StateFormat) -> Self {
        StateFormats { default: format, ..StateFormats::default() }
    }

    /// The same, storing states in a block format from `min_elements` elements on (torchao's
    /// 4096 by default; a state must still be a whole number of blocks): for small models.
    ///
    /// ```
    /// use optim_core::{builtins::Adam, Optimizer, Param, StateFormat, StateFormats};
    /// let w = Param::new(ndarray::ArrayD::<f32>::zeros(vec![64, 32])); // 2048 elements
    /// let mut opt = Optimizer::<Adam, f32>::new(vec![w.clone()], Adam::hyper()).unwrap();
    /// opt.set_state_formats(StateFormats::all(StateFormat::Int8).with_min_elements(256)).unwrap();
    /// w.set_grad(ndarray::ArrayD::ones(vec![64, 32]));
    /// opt.step().unwrap();
    /// assert_eq!(opt.state(0, 0).unwrap().format("exp_avg"), Some(StateFormat::Int8));
    /// ```
    #[must_use]
    pub fn with_min_elements(mut self, min_elements: usize) -> Self {
        self.min_elements = min_elements;
        self
    }

    /// Whether a state of `len` elements is stored in `format` under these settings.
    pub(crate) fn stores(&self, format: StateFormat, len: usize) -> bool {
        match format {
            StateFormat::Native => false,
            StateFormat::BFloat16 => len > 0,
            _ => len > 0 && len >= self.min_elements && len.is_multiple_of(format.block_size()),
        }
    }

    /// The same, with state `name` stored as `format`.
    ///
    /// ```
    /// use optim_core::{StateFormat, StateFormats};
    /// let f = StateFormats::default().with("exp_avg", StateFormat::Fp8);
    /// assert_eq!(f.format_of("exp_avg_sq"), StateFormat::Native);
    /// ```
    #[must_use]
    pub fn with(mut self, name: &str, format: StateFormat) -> Self {
        self.by_name.retain(|(n, _)| n != name);
        self.by_name.push((name.to_owned(), format));
        self
    }

    /// The format of state `name`.
    ///
    /// ```
    /// assert_eq!(optim_core::StateFormats::default().format_of("x"), optim_core::StateFormat::Native);
    /// ```
    pub fn format_of(&self, name: &str) -> StateFormat {
        self.by_name.iter().find(|(n, _)| n == name).map_or(self.default, |&(_, f)| f)
    }

    /// The format of the state `decl` declares: [`StateFormats::format_of`], except that a state
    /// holding a copy of the parameter ([`crate::StateDecl::param_copy`]) keeps the element type
    /// unless it is named.
    ///
    /// ```
    /// use optim_core::{zoo::AdamWScheduleFree, Rule, StateFormat, StateFormats};
    /// let z = &AdamWScheduleFree::STATES[0];
    /// assert!(z.param_copy);
    /// assert_eq!(StateFormats::all(StateFormat::Int8).format_of_state(z), StateFormat::Native);
    /// let named = StateFormats::all(StateFormat::Int8).with("z", StateFormat::BFloat16);
    /// assert_eq!(named.format_of_state(z), StateFormat::BFloat16);
    /// ```
    pub fn format_of_state(&self, decl: &crate::StateDecl) -> StateFormat {
        match self.by_name.iter().find(|(n, _)| n == decl.name) {
            Some(&(_, format)) => format,
            None if decl.param_copy => StateFormat::Native,
            None => self.default,
        }
    }

    /// The state names given their own format.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.iter().map(|(n, _)| n.as_str())
    }
}
