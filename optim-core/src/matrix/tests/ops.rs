//! gemm, axpby, norm and store against the naive references.

use super::super::{MatrixElement, MatrixScratch, Rounding};
use super::{Dense, Noise, load, read};

/// Shapes `(m, k, n)`: non-square, vectors both ways, an outer product, empty dimensions, and
/// sizes past faer's small-matrix kernel.
const SHAPES: [(usize, usize, usize); 10] =
    [(3, 5, 4), (1, 7, 6), (6, 7, 1), (1, 9, 1), (5, 1, 4), (4, 0, 3), (0, 3, 2), (17, 33, 9), (40, 70, 65), (2, 2, 2)];

/// Every transposition of both operands, each `c` path (none, another buffer plain or
/// transposed, in place), against `alpha * a·b + beta * c` in `f64`.
fn gemm_matches<T: MatrixElement>(tolerance: f64) {
    let mut noise = Noise::new(7);
    for &(m, k, n) in &SHAPES {
        let (a, b, c) =
            (Dense::random(m, k, &mut noise), Dense::random(k, n, &mut noise), Dense::random(m, n, &mut noise));
        let exact = a.matmul(&b);
        for (ta, tb, c_path) in (0..16).map(|i| (i & 1 == 1, i & 2 == 2, i >> 2)) {
            let mut s = MatrixScratch::<T>::new();
            let (av, bv) = (load(&mut s, 0, &a, ta), load(&mut s, 1, &b, tb));
            let (alpha, beta) = (1.5, -0.75);
            let (dst, cv) = match c_path {
                0 => (2, None),
                1 => (2, Some((beta, load(&mut s, 3, &c, false)))),
                2 => (2, Some((beta, load(&mut s, 3, &c, true)))),
                _ => (3, Some((beta, load(&mut s, 3, &c, false)))), // in place
            };
            let out = s.gemm(dst, alpha, av, bv, cv, Rounding::Exact);
            assert!(!out.transposed && out.buffer == dst && (out.rows, out.cols) == (m, n));
            let want = exact.axpby(alpha, cv.map(|(beta, _)| (beta, &c)));
            let err = read(&s, out).max_abs_diff(&want);
            assert!(err <= tolerance, "{m}x{k}·{k}x{n} ta={ta} tb={tb} c={c_path}: error {err}");
        }
    }
}

#[test]
fn gemm_f64_matches_naive() {
    gemm_matches::<f64>(1e-13);
}

#[test]
fn gemm_f32_matches_naive() {
    gemm_matches::<f32>(1e-5);
}

/// A zero beta ignores c, NaN included (as BLAS and torch.addmm); a second product into the
/// same destination overwrites it (no stale data from a larger earlier use).
#[test]
fn gemm_zero_beta_and_reuse() {
    let mut s = MatrixScratch::<f64>::new();
    let a = s.load(0, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3);
    let b = s.load(1, &[1.0, 0.0, 0.0, 1.0, 1.0, 1.0], 3, 2);
    let c = s.load(2, &[f64::NAN; 4], 2, 2);
    let d = s.gemm(3, 1.0, a, b, Some((0.0, c)), Rounding::Exact);
    assert_eq!(read(&s, d).data, [4.0, 5.0, 10.0, 11.0]);
    let big = s.gemm(3, 1.0, b, a, None, Rounding::Exact); // 3x3 into the same buffer
    assert_eq!(read(&s, big).data, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 5.0, 7.0, 9.0]);
    let small = s.gemm(3, 2.0, a, b, None, Rounding::Exact);
    assert_eq!(read(&s, small).data, [8.0, 10.0, 20.0, 22.0]);
}

/// axpby with and without b, transposed operands, and every in-place combination.
fn axpby_matches<T: MatrixElement>(tolerance: f64) {
    let mut noise = Noise::new(11);
    for &(m, n) in &[(3, 5), (1, 6), (6, 1), (9, 9), (0, 4)] {
        let (a, b) = (Dense::random(m, n, &mut noise), Dense::random(m, n, &mut noise));
        for case in 0..8 {
            let mut s = MatrixScratch::<T>::new();
            let av = load(&mut s, 0, &a, case & 1 == 1 && case < 4);
            let bv = load(&mut s, 1, &b, case & 2 == 2);
            let (dst, a_in, b_in) = match case {
                4 => (0, av, Some((0.25, bv))), // in place over a
                5 => (1, av, Some((0.25, bv))), // in place over b
                6 => (0, av, None),             // in place, scaling
                7 => (0, av, Some((0.25, av))), // a and b both the destination
                _ => (2, av, if case == 3 { None } else { Some((0.25, bv)) }),
            };
            let (av_f, b_f) = (&a, if case == 7 { &a } else { &b });
            let want = av_f.axpby(-2.0, b_in.map(|(beta, _)| (beta, b_f)));
            let out = s.axpby(dst, -2.0, a_in, b_in, Rounding::Exact);
            let err = read(&s, out).max_abs_diff(&want);
            assert!(err <= tolerance, "{m}x{n} case {case}: error {err}");
        }
    }
}

#[test]
fn axpby_f64_matches_naive() {
    axpby_matches::<f64>(1e-15);
}

#[test]
fn axpby_f32_matches_naive() {
    axpby_matches::<f32>(1e-6);
}

#[test]
fn norm_and_store_match_naive() {
    let mut noise = Noise::new(3);
    for &(m, n) in &[(3, 5), (1, 7), (7, 1), (20, 13), (0, 3)] {
        let a = Dense::random(m, n, &mut noise);
        let want = a.data.iter().map(|x| x * x).sum::<f64>().sqrt();
        for transposed in [false, true] {
            let mut s64 = MatrixScratch::<f64>::new();
            let v = load(&mut s64, 0, &a, transposed);
            assert!((s64.norm(v) - want).abs() <= 1e-14 * want.max(1.0));
            assert_eq!(read(&s64, v).data, a.data, "store of {m}x{n} transposed={transposed}");
            assert_eq!(read(&s64, v.t()).data, a.t().data);
            let mut s32 = MatrixScratch::<f32>::new();
            let v = load(&mut s32, 0, &a, transposed);
            let want32: f64 = a.data.iter().map(|&x| f64::from(x as f32).powi(2)).sum::<f64>().sqrt();
            assert!((s32.norm(v) - want32).abs() <= 1e-15 * want32.max(1.0));
        }
    }
    // f64's norm is scaled: no overflow in the squares
    let mut s = MatrixScratch::<f64>::new();
    let big = s.load(0, &[3e200, 4e200], 1, 2);
    assert!((s.norm(big) / 5e200 - 1.0).abs() < 1e-15);
}

/// Integers small enough that every f32 sum is exact: the bfloat16 product is then the exact
/// result rounded once, to nearest and ties to even.
#[test]
fn bf16_gemm_rounds_the_exact_result_once() {
    fn run<T: MatrixElement>() -> Vec<f64> {
        let mut s = MatrixScratch::<T>::new();
        let a = s.load(0, &[16.0, 1.0, 0.0, 16.0, 3.0, 0.0].map(T::from_f64), 2, 3);
        let b = s.load(1, &[16.0, 1.0, 1.0, 0.0, 0.0, 1.0].map(T::from_f64), 3, 2);
        let c = s.load(2, &[1.0, 2.0, 0.0, 0.5].map(T::from_f64), 2, 2);
        // a·b = [[257, 16], [259, 16]]; + 1·c = [[258, 18], [259, 16.5]]
        let d = s.gemm(3, 1.0, a, b, Some((1.0, c)), Rounding::Bf16);
        read(&s, d).data
    }
    // bfloat16 spacing at 256..512 is 2: 258 stays, 259 is a tie (258 or 260: to even, 260)
    let want = [258.0, 18.0, 260.0, 16.5];
    assert_eq!(run::<f32>(), want);
    assert_eq!(run::<f64>(), want);
}

/// The f64 bfloat16 path (operands lowered to f32) gives exactly the f32 path's results.
#[test]
fn bf16_gemm_f64_equals_f32() {
    let mut noise = Noise::new(5);
    let bf = |x: f64| f64::from(half::bf16::from_f64(x));
    for &(m, k, n) in &SHAPES {
        let mut quantized = |r, c| {
            let mut d = Dense::random(r, c, &mut noise);
            d.data.iter_mut().for_each(|x| *x = bf(*x * 4.0));
            d
        };
        let (a, b, c) = (quantized(m, k), quantized(k, n), quantized(m, n));
        for (ta, tb, tc) in [(false, false, false), (true, false, true), (false, true, false), (true, true, true)] {
            let mut s32 = MatrixScratch::<f32>::new();
            let mut s64 = MatrixScratch::<f64>::new();
            let r32 = {
                let (av, bv, cv) = (load(&mut s32, 0, &a, ta), load(&mut s32, 1, &b, tb), load(&mut s32, 2, &c, tc));
                let d = s32.gemm(3, 0.5, av, bv, Some((-1.25, cv)), Rounding::Bf16);
                read(&s32, d)
            };
            let r64 = {
                let (av, bv, cv) = (load(&mut s64, 0, &a, ta), load(&mut s64, 1, &b, tb), load(&mut s64, 2, &c, tc));
                let d = s64.gemm(3, 0.5, av, bv, Some((-1.25, cv)), Rounding::Bf16);
                read(&s64, d)
            };
            assert_eq!(r32.data, r64.data, "{m}x{k}·{k}x{n}");
            assert!(r32.data.iter().all(|&x| bf(x) == x), "results are bfloat16 values");
            let want = a.matmul(&b).axpby(0.5, Some((-1.25, &c)));
            let spacing = want.data.iter().fold(0.0f64, |acc, x| acc.max(x.abs())) / 128.0;
            assert!(r32.max_abs_diff(&want) <= spacing + 1e-30, "{m}x{k}·{k}x{n}");
        }
    }
}

/// Bfloat16 axpby: computed in f32 and rounded once (`torch.add(a, b, alpha=beta)`).
#[test]
fn bf16_axpby_rounds_once() {
    fn run<T: MatrixElement>() -> Vec<f64> {
        let mut s = MatrixScratch::<T>::new();
        let a = s.load(0, &[256.0, 256.0, 1.0, 3.0].map(T::from_f64), 2, 2);
        let b = s.load(1, &[1.0, 3.0, 1.0 / 512.0, 1.0].map(T::from_f64), 2, 2);
        let d = s.axpby(2, 1.0, a, Some((1.0, b)), Rounding::Bf16);
        let mut out = read(&s, d).data;
        let scaled = s.axpby(0, 1.0 / 3.0, a, None, Rounding::Bf16); // in place
        out.extend(read(&s, scaled).data);
        out
    }
    // 257 ties to 256; 259 ties to 260; 1 + 1/512 rounds to 1; 4 exact;
    // 256/3 = 85.33 -> 85.5; 1/3 -> 0.333984375; 3 * f32(1/3) = 1.0000000298 -> 1
    let want = [256.0, 260.0, 1.0, 4.0, 85.5, 85.5, 0.333984375, 1.0];
    assert_eq!(run::<f32>(), want);
    assert_eq!(run::<f64>(), want);
}

#[test]
fn buffers_mut_hands_out_distinct_slots() {
    let mut s = MatrixScratch::<f32>::new();
    let [x, y, z, ..] = s.buffers_mut(&[5, 0, 2], 3);
    x.fill(1.0);
    y.fill(2.0);
    z.fill(3.0);
    let view = |buffer| super::super::MatView { buffer, rows: 1, cols: 3, transposed: false };
    assert_eq!(s.data(view(5)), &[1.0; 3]);
    assert_eq!(s.data(view(0)), &[2.0; 3]);
    assert_eq!(s.data(view(2)), &[3.0; 3]);
}

#[test]
#[should_panic(expected = "requested twice")]
fn buffers_mut_refuses_repeats() {
    MatrixScratch::<f32>::new().buffers_mut(&[1, 1], 3);
}

#[test]
#[should_panic(expected = "is an operand")]
fn gemm_refuses_destination_operand() {
    let mut s = MatrixScratch::<f32>::new();
    let a = s.load(0, &[1.0], 1, 1);
    s.gemm(0, 1.0, a, a, None, Rounding::Exact);
}
