//! The DSL's function table.

/// Reductions: one element-wise argument, one number per tensor.
pub(super) const REDUCTION_FUNCTIONS: [&str; 4] = ["sum", "mean", "norm", "amax"];

/// Group reductions: one number per param group, over every tensor of the group that steps, of
/// an element-wise value (summed over the elements too) or of a per-tensor number.
pub(super) const GROUP_FUNCTIONS: [&str; 4] = ["group_sum", "group_sum_f32", "group_norm", "group_amax"];

/// Functions of an optional hyperparameter (`beta3.unwrap_or(sqrt(b2))`, `beta3.is_some()`).
pub(super) const OPTIONAL_FUNCTIONS: [&str; 3] = ["unwrap_or", "is_some", "is_none"];

pub(super) const FUNCTIONS: [(&str, usize); 26] = [
    ("sum", 1),
    ("mean", 1),
    ("norm", 1),
    ("amax", 1),
    ("sqrt", 1),
    ("abs", 1),
    ("exp", 1),
    ("ln", 1),
    ("sign", 1),
    ("min", 2),
    ("max", 2),
    ("pow", 2),
    ("clamp", 3),
    ("lerp", 3),
    ("select", 3),
    ("round_f32", 1),
    ("round_bf16", 1),
    ("row_mean", 1),
    ("col_mean", 1),
    ("unwrap_or", 2),
    ("is_some", 1),
    ("is_none", 1),
    ("group_sum", 1),
    ("group_sum_f32", 1),
    ("group_norm", 1),
    ("group_amax", 1),
];
