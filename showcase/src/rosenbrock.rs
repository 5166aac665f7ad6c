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
    descend_shaped::<R>(hyper, steps, &[2])
}

/// [`descend`] with the point held as a tensor of `shape` (two elements): `[1, 2]` gives a
/// matrix rule such as Muon a one-row matrix to walk with.
///
/// ```
/// use optim::zoo::Muon;
/// use showcase::rosenbrock::{descend_shaped, value, START};
/// let path = descend_shaped::<Muon>(Muon::hyper().lr(0.01).weight_decay(0.0), 300, &[1, 2]).unwrap();
/// assert!(value(path[300]) < value(START));
/// ```
pub fn descend_shaped<R: Rule>(hyper: R::Hyper, steps: usize, shape: &[usize]) -> Result<Vec<[f64; 2]>, OptimError> {
    let point = Param::new(arr1(&START).into_shape_with_order(shape).map_err(|_| OptimError::EmptyGroup)?.into_dyn());
    let mut optimizer = Optimizer::<R, f64>::new(vec![point.clone()], hyper)?;
    let mut path = vec![START];
    for _ in 0..steps {
        let here = *path.last().expect("the path starts at START");
        optimizer.zero_grad();
        let grad = arr1(&gradient(here)).into_shape_with_order(shape).map_err(|_| OptimError::EmptyGroup)?;
        point.set_grad(grad.into_dyn());
        optimizer.step()?;
        let value = point.value();
        let mut values = value.iter();
        path.push([*values.next().unwrap_or(&f64::NAN), *values.next().unwrap_or(&f64::NAN)]);
    }
    Ok(path)
}
