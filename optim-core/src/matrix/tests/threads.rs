//! Results do not depend on the number of threads of the rayon pool the operations run in.

use super::super::{MatrixElement, MatrixScratch, Rounding};
use super::{Dense, Noise, in_pool, load, read};

/// `f`'s results in pools of 1, 2, 3 and 4 threads, checked bit for bit against the first.
fn same_in_every_pool(what: &str, f: impl Fn() -> Vec<f64> + Sync) {
    let one = in_pool(1, &f);
    for threads in 2..=4 {
        let other = in_pool(threads, &f);
        let differing = one.iter().zip(&other).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
        assert_eq!(differing, 0, "{what}: {differing} of {} elements differ with {threads} threads", one.len());
    }
}

/// Shapes `(m, k, n)` past faer's thresholds for parallel products, matrix–vector products both
/// ways (faer's parallel one splits the inner dimension), an outer product, and Newton–Schulz's
/// X·Xᵀ (wide X) and A·X.
const SHAPES: [(usize, usize, usize); 11] = [
    (64, 64, 64),
    (130, 257, 70),
    (1, 600, 300),
    (600, 300, 1),
    (200, 1, 150),
    (256, 256, 256),
    (96, 384, 96),
    (96, 96, 384),
    (8, 300, 260),
    (64, 1500, 64),
    (16, 5000, 40),
];

fn products<T: MatrixElement>(rounding: Rounding) {
    let mut noise = Noise::new(41);
    for &(m, k, n) in &SHAPES {
        let bf = |d: Dense| match rounding {
            Rounding::Exact => d,
            Rounding::Bf16 => Dense { data: d.data.iter().map(|&x| f64::from(half::bf16::from_f64(x))).collect(), ..d },
        };
        let (a, b, c) = (
            bf(Dense::random(m, k, &mut noise)),
            bf(Dense::random(k, n, &mut noise)),
            bf(Dense::random(m, n, &mut noise)),
        );
        for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
            same_in_every_pool(&format!("{m}x{k}·{k}x{n} ta={ta} tb={tb} {rounding:?}"), || {
                let mut s = MatrixScratch::<T>::new();
                let (av, bv, cv) = (load(&mut s, 0, &a, ta), load(&mut s, 1, &b, tb), load(&mut s, 2, &c, false));
                let d = s.gemm(2, 0.5, av, bv, Some((2.0, cv)), rounding);
                read(&s, d).data
            });
        }
    }
}

#[test]
fn gemm_f32_independent_of_threads() {
    products::<f32>(Rounding::Exact);
}

#[test]
fn gemm_f64_independent_of_threads() {
    products::<f64>(Rounding::Exact);
}

#[test]
fn gemm_bf16_independent_of_threads() {
    products::<f32>(Rounding::Bf16);
    products::<f64>(Rounding::Bf16);
}

#[test]
fn decompositions_independent_of_threads() {
    let mut noise = Noise::new(43);
    let a = Dense::random(340, 300, &mut noise);
    let sym = a.t().matmul(&a);
    same_in_every_pool("eigh 300", || {
        let mut s = MatrixScratch::<f64>::new();
        let v = load(&mut s, 0, &sym, false);
        let mut values = vec![0.0; 300];
        let vectors = s.eigh(v, 1, &mut values).expect("converges");
        values.extend(read(&s, vectors).data);
        values
    });
    for (rows, cols) in [(300, 260), (260, 300)] {
        let a = Dense::random(rows, cols, &mut noise);
        same_in_every_pool(&format!("qr_q {rows}x{cols}"), || {
            let mut s = MatrixScratch::<f64>::new();
            let v = load(&mut s, 0, &a, false);
            let q = s.qr_q(v, 1);
            read(&s, q).data
        });
    }
}
