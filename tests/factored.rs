//! Row and column values: `row_mean` / `col_mean` against plain loops over stacked matrices,
//! and AdaFactor's factored passes giving the same bits at every SIMD level, for every thread
//! count and whether a tensor is processed whole or in parallel chunks that split rows.

use optim::zoo::AdaFactor;
use optim::{Element, Optimizer, Param, Rule, SimdLevel};

mod noise;
use noise::Noise;

optim::optimizer! {
    /// Subtracts each element's row mean, column mean and its matrix's mean of row means, and
    /// keeps the row and column means as state.
    pub Centre {
        hyper { lr = 1.0 }
        state { row rows = 0, col cols = 0 }
        step {
            rows = row_mean(grad);
            cols = col_mean(grad * 2);
            param -= lr * (rows + cols + row_mean(rows));
        }
    }
}

optim::optimizer! {
    /// Reads a column state in element code, for matrices only: a vector has no such state.
    pub ColumnIfMatrix {
        hyper { lr = 1.0 }
        state { col c = 0 if ndim >= 2 }
        step {
            if ndim >= 2 {
                c = col_mean(grad);
                param -= lr * (grad + c) / max(norm(grad + c), 1);
            } else {
                param -= lr * grad / max(norm(grad), 1);
            }
        }
    }
}

/// A column state absent for a tensor (its presence condition false) does not stop the update
/// from reaching every element of it: the loop's view of the state is empty there.
#[test]
fn an_absent_column_state_leaves_no_element_out() {
    let vector = Param::new(ndarray::ArrayD::<f64>::zeros(vec![70]));
    let matrix = Param::new(ndarray::ArrayD::<f64>::zeros(vec![3, 70]));
    let mut opt =
        Optimizer::<ColumnIfMatrix, f64>::new(vec![vector.clone(), matrix.clone()], ColumnIfMatrix::hyper()).unwrap();
    let g: Vec<f64> = Noise(5).vec(70 * 4);
    vector.set_grad(ndarray::ArrayD::from_shape_vec(vec![70], g[..70].to_vec()).unwrap());
    matrix.set_grad(ndarray::ArrayD::from_shape_vec(vec![3, 70], g[70..].to_vec()).unwrap());
    opt.step().unwrap();
    let vector_norm = g[..70].iter().map(|x| x * x).sum::<f64>().sqrt().max(1.0);
    for (i, v) in vector.value().iter().enumerate() {
        assert!((v + g[i] / vector_norm).abs() < 1e-15, "vector element {i}: {v}");
    }
    let col_mean = |j: usize| (0..3).map(|k| g[70 + k * 70 + j]).sum::<f64>() / 3.0;
    let shifted = |i: usize, j: usize| g[70 + i * 70 + j] + col_mean(j);
    let norm =
        (0..3).flat_map(|i| (0..70).map(move |j| (i, j))).map(|(i, j)| shifted(i, j).powi(2)).sum::<f64>().sqrt();
    let m = matrix.value();
    for i in 0..3 {
        for j in 0..70 {
            let expected = -shifted(i, j) / norm.max(1.0);
            assert!((m[[i, j]] - expected).abs() < 1e-15, "matrix ({i},{j}): {} vs {expected}", m[[i, j]]);
        }
    }
}

#[test]
fn row_and_column_means_match_loops_over_stacked_matrices() {
    let (s, r, c) = (2, 3, 4);
    let grad: Vec<f64> = Noise(3).vec(s * r * c);
    let p = Param::new(ndarray::ArrayD::zeros(vec![s, r, c]));
    let mut opt = Optimizer::<Centre, f64>::new(vec![p.clone()], Centre::hyper()).unwrap();
    p.set_grad(ndarray::ArrayD::from_shape_vec(vec![s, r, c], grad.clone()).unwrap());
    opt.step().unwrap();
    let g = |b: usize, i: usize, j: usize| grad[(b * r + i) * c + j];
    let row_mean = |b: usize, i: usize| (0..c).map(|j| g(b, i, j)).sum::<f64>() / c as f64;
    let col_mean = |b: usize, j: usize| (0..r).map(|i| 2.0 * g(b, i, j)).sum::<f64>() / r as f64;
    let state = opt.state(0, 0).unwrap();
    let (rows, cols, value) = (state.tensor("rows").unwrap(), state.tensor("cols").unwrap(), p.value());
    assert_eq!((rows.shape(), cols.shape()), (&[s, r][..], &[s, c][..]));
    for b in 0..s {
        let slice_mean = (0..r).map(|i| row_mean(b, i)).sum::<f64>() / r as f64;
        for i in 0..r {
            assert!((rows[[b, i]] - row_mean(b, i)).abs() < 1e-15, "{} vs {}", rows[[b, i]], row_mean(b, i));
            for j in 0..c {
                let expected = -(row_mean(b, i) + col_mean(b, j) + slice_mean);
                assert!((value[[b, i, j]] - expected).abs() < 1e-14, "({b},{i},{j})");
            }
        }
        for j in 0..c {
            assert!((cols[[b, j]] - col_mean(b, j)).abs() < 1e-15);
        }
    }
}

// `[150_000]`: a vector long enough to be cut into chunks and pieces of a threaded pass
const SHAPES: [&[usize]; 5] = [&[3, 129, 257], &[1000], &[64, 2048], &[17, 33], &[150_000]];

/// Three AdaFactor steps (with `ams_bound` and weight decay, so every state exists) on
/// caller-owned slices, on this thread: the reference the parallel optimizer must match.
fn slices_run<T: Element>(level: SimdLevel, seed: u64) -> Vec<u64> {
    let hyper = AdaFactor::hyper().ams_bound(true).weight_decay(0.01);
    let mut noise = Noise(seed);
    let mut bits = Vec::new();
    for shape in SHAPES {
        let n: usize = shape.iter().product();
        let mut param: Vec<T> = noise.vec(n);
        let mut states: Vec<Vec<T>> = (0..AdaFactor::STATES.len())
            .map(|i| {
                let len = AdaFactor::STATES[i].shape.len(shape);
                let present = AdaFactor::state_present(&hyper, shape, i);
                if present { vec![T::from_f64(AdaFactor::state_init(&hyper, i)); len] } else { Vec::new() }
            })
            .collect();
        let mut scalars = vec![0.0; AdaFactor::SCALAR_STATES.len()];
        for step in 1..=3 {
            let grad: Vec<T> = noise.vec(n);
            let mut slices: Vec<&mut [T]> = states.iter_mut().map(|s| s.as_mut_slice()).collect();
            AdaFactor::step_slices(level, &hyper, step, &mut scalars, shape, &mut param, &grad, &mut slices);
        }
        bits.extend(param.iter().chain(states.iter().flatten()).map(|v| v.to_f64().to_bits()));
    }
    bits
}

/// The same three steps through `Optimizer` in a pool of `threads` threads (tensors over 64K
/// elements are split into chunks whose boundaries fall inside rows).
fn optimizer_run<T: Element>(threads: usize, seed: u64) -> Vec<u64> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    let mut noise = Noise(seed);
    let hyper = AdaFactor::hyper().ams_bound(true).weight_decay(0.01);
    let mut bits = Vec::new();
    for shape in SHAPES {
        let n: usize = shape.iter().product();
        let p = Param::new(ndarray::ArrayD::from_shape_vec(shape.to_vec(), noise.vec::<T>(n)).unwrap());
        let mut opt = Optimizer::<AdaFactor, T>::new(vec![p.clone()], hyper).unwrap();
        for _ in 0..3 {
            p.set_grad(ndarray::ArrayD::from_shape_vec(shape.to_vec(), noise.vec::<T>(n)).unwrap());
            pool.install(|| opt.step()).unwrap();
        }
        bits.extend(p.value().iter().map(|v| v.to_f64().to_bits()));
        let state = opt.state(0, 0).unwrap();
        for decl in AdaFactor::STATES {
            if let Some(tensor) = state.tensor(decl.name) {
                bits.extend(tensor.iter().map(|v| v.to_f64().to_bits()));
            }
        }
    }
    bits
}

#[test]
fn adafactor_is_bit_identical_across_levels_threads_and_chunking() {
    for level in SimdLevel::available() {
        assert!(slices_run::<f32>(level, 11) == slices_run::<f32>(SimdLevel::Baseline, 11), "f32 {level:?}");
        assert!(slices_run::<f64>(level, 12) == slices_run::<f64>(SimdLevel::Baseline, 12), "f64 {level:?}");
    }
    let reference = slices_run::<f32>(SimdLevel::detected(), 13);
    for threads in [1, 2, 3, 8] {
        assert!(optimizer_run::<f32>(threads, 13) == reference, "{threads} threads differ from one whole pass");
    }
}
