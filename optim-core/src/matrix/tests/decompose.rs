//! eigh and qr_q: defining identities in f64, and torch's (LAPACK's) results.

use super::super::{MatrixElement, MatrixScratch, Rounding};
use super::{Dense, Noise, load, read};

/// A random symmetric matrix (eigenvalues spread, two nearly repeated).
fn symmetric(n: usize, noise: &mut Noise) -> Dense {
    let a = Dense::random(n, n, noise);
    let mut s = a.axpby(0.5, Some((0.5, &a.t())));
    if n > 3 {
        s.data[0] += 1e-9; // a near-tie with whatever is closest
    }
    s
}

/// The eigenvectors and eigenvalues of `a` (f64), through `eigh`; the upper triangle of the
/// loaded matrix holds garbage, which must not be read.
fn eigh_of(a: &Dense, transposed: bool) -> (Dense, Vec<f64>) {
    let n = a.rows;
    let mut garbage = a.clone();
    for r in 0..n {
        for c in r + 1..n {
            garbage.data[r * n + c] = 1e3 + (r * n + c) as f64;
        }
    }
    // transposed: the logical matrix is what `load` is given, its lower triangle the same
    let mut s = MatrixScratch::<f64>::new();
    let v = load(&mut s, 4, &garbage, transposed);
    let mut values = vec![0.0; n];
    let vectors = s.eigh(v, 1, &mut values).expect("converges");
    (read(&s, vectors), values)
}

#[test]
fn eigh_satisfies_av_equals_v_lambda() {
    let mut noise = Noise::new(17);
    for &n in &[1, 2, 3, 7, 16, 33, 64, 150] {
        let a = symmetric(n, &mut noise);
        for transposed in [false, true] {
            let (v, values) = eigh_of(&a, transposed);
            assert!(values.windows(2).all(|w| w[0] <= w[1]), "ascending");
            let av = a.matmul(&v);
            let mut v_lambda = v.clone();
            for row in v_lambda.data.chunks_mut(n.max(1)) {
                row.iter_mut().zip(&values).for_each(|(x, value)| *x *= value);
            }
            let residual = av.max_abs_diff(&v_lambda);
            let orthogonality = v.t().matmul(&v).max_abs_diff(&Dense::identity(n));
            assert!(residual <= 1e-12, "n={n}: |AV - VΛ| = {residual}");
            assert!(orthogonality <= 1e-12, "n={n}: |VᵀV - I| = {orthogonality}");
        }
    }
}

/// torch.linalg.eigh on the same matrix (float64): the same eigenvalues, and the same
/// eigenvectors up to sign.
#[test]
fn eigh_matches_torch() {
    let a = Dense {
        rows: 4,
        cols: 4,
        data: vec![4.0, 1.0, 0.5, 0.0, 1.0, 3.0, 0.2, 0.1, 0.5, 0.2, 2.0, 0.3, 0.0, 0.1, 0.3, 1.0],
    };
    let torch_values = [0.906670170169602, 1.9693130219388704, 2.3992643038562114, 4.724752504035315];
    let torch_vectors = [
        0.06100544388907135,
        -0.24072799312054455,
        0.4867047909610276,
        -0.8375242179182849,
        -0.04793022928612746,
        0.025783896026859477,
        -0.8585532958889953,
        -0.5098275413749228,
        -0.281559460155963,
        0.9261186097156394,
        0.15893512702695517,
        -0.19434046550314615,
        0.9564022685738254,
        0.2892914529885084,
        -0.02728204483999745,
        -0.029340175936532504,
    ];
    let (v, values) = eigh_of(&a, false);
    for (x, y) in values.iter().zip(torch_values) {
        assert!((x - y).abs() <= 1e-14, "{x} vs torch {y}");
    }
    for c in 0..4 {
        let dot: f64 = (0..4).map(|r| v.at(r, c) * torch_vectors[r * 4 + c]).sum();
        assert!((dot.abs() - 1.0).abs() <= 1e-14, "vector {c}: |dot| = {}", dot.abs());
    }
}

#[test]
fn eigh_of_a_non_finite_matrix_is_an_error_or_nan() {
    let mut s = MatrixScratch::<f64>::new();
    let a = s.load(0, &[f64::NAN, 0.0, 0.0, 1.0], 2, 2);
    let mut values = [0.0; 2];
    if s.eigh(a, 1, &mut values).is_ok() {
        assert!(values.iter().any(|v| v.is_nan()));
    }
}

/// The Q factor of `a` (f64) through `qr_q`, optionally from a transposed buffer.
fn q_of<T: MatrixElement>(a: &Dense, transposed: bool) -> Dense {
    let mut s = MatrixScratch::<T>::new();
    let v = load(&mut s, 2, a, transposed);
    let q = s.qr_q(v, 0);
    assert!((q.rows, q.cols) == (a.rows, a.rows.min(a.cols)));
    read(&s, q)
}

#[test]
fn qr_q_is_orthonormal_and_triangularises() {
    let mut noise = Noise::new(23);
    for &(m, n) in &[(7, 4), (5, 5), (3, 6), (1, 1), (6, 1), (1, 5), (200, 150), (120, 130), (0, 3), (3, 0)] {
        let a = Dense::random(m, n, &mut noise);
        for transposed in [false, true] {
            let q = q_of::<f64>(&a, transposed);
            let k = q.cols;
            let gram = q.t().matmul(&q).max_abs_diff(&Dense::identity(k));
            assert!(gram <= 1e-12, "{m}x{n}: |QᵀQ - I| = {gram}");
            let r = q.t().matmul(&a); // k x n
            let below: f64 = (0..k)
                .flat_map(|i| (0..i.min(n)).map(move |j| (i, j)))
                .map(|(i, j)| r.at(i, j).abs())
                .fold(0.0, f64::max);
            assert!(below <= 1e-12, "{m}x{n}: R below its diagonal {below}");
            let qr = q.matmul(&r).max_abs_diff(&a);
            assert!(qr <= 1e-12, "{m}x{n}: |QR - A| = {qr}");
        }
    }
}

#[test]
fn qr_q_f32_is_orthonormal() {
    let mut noise = Noise::new(29);
    let a = Dense::random(90, 60, &mut noise);
    let q = q_of::<f32>(&a, false);
    assert!(q.t().matmul(&q).max_abs_diff(&Dense::identity(60)) <= 1e-5);
}

include!("qr_golden.rs");

/// torch.linalg.qr (float64, LAPACK's geqrf/orgqr): the same Q, signs included, also where
/// faer's own QR skips a zero column (LAPACK reflects nothing there, and so does `qr_q`).
#[test]
fn qr_q_matches_torch() {
    for (name, (m, n, a, q)) in [
        ("tall", TALL),
        ("zero column", ZERO_COLUMN),
        ("first column zero", FIRST_ZERO),
        ("wide", WIDE),
        ("negative diagonal", NEG_DIAG),
        ("zero", ZERO),
    ] {
        let got = q_of::<f64>(&Dense { rows: m, cols: n, data: a.to_vec() }, false);
        let want = Dense { rows: got.rows, cols: got.cols, data: q.to_vec() };
        let err = got.max_abs_diff(&want);
        assert!(err <= 1e-14, "{name}: |Q - torch's Q| = {err}\n{got:?}\n{want:?}");
    }
}

/// Products of Q with other matrices run on the views it returns (transposed), as the matrix
/// stage chains them.
#[test]
fn decompositions_chain_into_products() {
    let mut noise = Noise::new(31);
    let a = Dense::random(6, 4, &mut noise);
    let mut s = MatrixScratch::<f64>::new();
    let av = load(&mut s, 0, &a, false);
    let q = s.qr_q(av, 1);
    let r = s.gemm(2, 1.0, q.t(), av, None, Rounding::Exact);
    let back = s.gemm(3, 1.0, q, r, None, Rounding::Exact);
    assert!(read(&s, back).max_abs_diff(&a) <= 1e-13);
}
