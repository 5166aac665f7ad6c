//! Optimizer trajectories on the Rosenbrock function, a curved valley with its minimum at (1, 1).

use ndarray::arr1;
use optim::prelude::*;

/// Where every trajectory starts.
pub const START: [f64; 2] = [-1.5, 2.0];
/// The global minimum.
pub const MINIMUM: [f64; 2] = [1.0, 1.0];

/// `f(x, y) = (1 - x)² + 100 (y - x²)²`.
///
/// ```
/// assert_eq!(showcase::rosenbrock::value([1.0, 1.0]), 0.0);
/// ```
pub fn value([x, y]: [f64; 2]) -> f64 {
    (1.0 - x).powi(2) + 100.0 * (y - x * x).powi(2)
}

/// The gradient of [`value`].
///
/// ```
/// assert_eq!(showcase::rosenbrock::gradient([1.0, 1.0]), [0.0, 0.0]);
/// ```
pub fn gradient([x, y]: [f64; 2]) -> [f64; 2] {
    [-2.0 * (1.0 - x) - 400.0 * x * (y - x * x), 200.0 * (y - x * x)]
}

/// The points visited by `steps` steps of rule `R` from [`START`], the start included.
///
/// ```
/// use optim::prelude::*;
/// use showcase::rosenbrock::{descend, value, START};
/// let path = descend::<Adam>(Adam::hyper().lr(0.05), 500).unwrap();
/// assert_eq!(path.len(), 501);
/// assert!(value(path[500]) < value(START) / 100.0);
/// ```
pub fn descend<R: Rule>(hyper: R::Hyper, steps: usize) -> Result<Vec<[f64; 2]>, OptimError> {
    let point = Param::new(arr1(&START).into_dyn());
    let mut optimizer = Optimizer::<R, f64>::new(vec![point.clone()], hyper)?;
    let mut path = vec![START];
    for _ in 0..steps {
        let here = *path.last().expect("the path starts at START");
        optimizer.zero_grad();
        point.set_grad(arr1(&gradient(here)).into_dyn());
        optimizer.step()?;
        let value = point.value();
        path.push([value[0], value[1]]);
    }
    Ok(path)
}
