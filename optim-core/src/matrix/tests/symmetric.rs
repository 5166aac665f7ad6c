//! Symmetric products (`X·Xᵀ`, the square of a symmetric matrix plus a symmetric term) compute
//! half their result: the same bits as the whole product computed from a copy of the operand
//! (which is not known to be symmetric), on any number of threads, and exactly symmetric.

use super::super::{MatrixElement, MatrixScratch, Rounding};
use super::{Dense, Noise, in_pool, load, read};

/// Newton–Schulz's two symmetric products on a wide `m x n` matrix: `G = X·Xᵀ`, then
/// `c·G·G + b·G`; with `copies` the operands are copied to other buffers first, so the products
/// are not known to be symmetric and run whole.
fn iteration<T: MatrixElement>(x: &Dense, copies: bool, rounding: Rounding) -> (Vec<f64>, Vec<f64>) {
    let mut s = MatrixScratch::<T>::new();
    let xv = load(&mut s, 0, x, false);
    let xt = if copies { s.axpby(1, 1.0, xv.t(), None, Rounding::Exact) } else { xv.t() };
    let gram = s.gemm(2, 1.0, xv, xt, None, rounding);
    let other = if copies { s.axpby(3, 1.0, gram, None, Rounding::Exact) } else { gram };
    let poly = s.gemm(4, 2.0315, gram, other, Some((-4.775, gram)), rounding);
    (read(&s, gram).data, read(&s, poly).data)
}

fn check<T: MatrixElement>(rounding: Rounding) {
    let mut noise = Noise::new(47);
    for (m, n) in [(300, 700), (129, 129), (16, 40), (520, 600)] {
        let x = Dense::random(m, n, &mut noise);
        let whole = in_pool(1, || iteration::<T>(&x, true, rounding));
        for threads in [1, 2, 3] {
            let half = in_pool(threads, || iteration::<T>(&x, false, rounding));
            for (name, ours, reference) in [("X·Xᵀ", &half.0, &whole.0), ("c·G·G + b·G", &half.1, &whole.1)] {
                let differing = ours.iter().zip(reference).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
                assert_eq!(differing, 0, "{m}x{n} {name} {rounding:?}, {threads} threads");
                for i in 0..m {
                    for j in 0..i {
                        assert_eq!(ours[i * m + j].to_bits(), ours[j * m + i].to_bits(), "{name} not symmetric");
                    }
                }
            }
        }
    }
}

#[test]
fn symmetric_products_match_whole_products_f32() {
    check::<f32>(Rounding::Exact);
    check::<f32>(Rounding::Bf16);
}

#[test]
fn symmetric_products_match_whole_products_f64() {
    check::<f64>(Rounding::Exact);
}

/// A buffer written again is no longer taken for symmetric.
#[test]
fn a_rewritten_buffer_is_not_symmetric() {
    let mut s = MatrixScratch::<f64>::new();
    let x = s.load(0, &[1.0, 2.0, 3.0, 4.0], 2, 2);
    let gram = s.gemm(1, 1.0, x, x.t(), None, Rounding::Exact);
    assert!(s.is_symmetric(gram));
    let overwritten = s.load(1, &[1.0, 2.0, 3.0, 4.0], 2, 2);
    assert!(!s.is_symmetric(overwritten));
    let square = s.gemm(2, 1.0, overwritten, overwritten, None, Rounding::Exact);
    let mut out = [0.0; 4];
    s.store(square, &mut out);
    assert_eq!(out, [7.0, 10.0, 15.0, 22.0]);
}
