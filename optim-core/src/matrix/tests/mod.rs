//! Tests of the matrix module against independent naive references in `f64`.

mod decompose;
mod ops;
mod symmetric;
mod threads;

use super::MatView;

/// `f` run inside a fresh rayon pool of `threads` threads.
pub(super) fn in_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a pool").install(f)
}

/// A deterministic pseudo-random stream in `[-1, 1)` (xorshift64*).
pub(super) struct Noise(u64);

impl Noise {
    pub(super) fn new(seed: u64) -> Self {
        Noise(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub(super) fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        bits as f64 / (1u64 << 52) as f64 - 1.0
    }
    pub(super) fn vec(&mut self, len: usize) -> Vec<f64> {
        (0..len).map(|_| self.next()).collect()
    }
}

/// A logical matrix in `f64`, row-major: the reference side of every test.
#[derive(Clone, Debug)]
pub(super) struct Dense {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f64>,
}

impl Dense {
    pub(super) fn random(rows: usize, cols: usize, noise: &mut Noise) -> Self {
        Dense { rows, cols, data: noise.vec(rows * cols) }
    }
    pub(super) fn zeros(rows: usize, cols: usize) -> Self {
        Dense { rows, cols, data: vec![0.0; rows * cols] }
    }
    pub(super) fn identity(n: usize) -> Self {
        let mut eye = Self::zeros(n, n);
        for i in 0..n {
            eye.data[i * n + i] = 1.0;
        }
        eye
    }
    pub(super) fn at(&self, r: usize, c: usize) -> f64 {
        self.data[r * self.cols + c]
    }
    pub(super) fn t(&self) -> Self {
        let mut out = Self::zeros(self.cols, self.rows);
        for r in 0..self.rows {
            for c in 0..self.cols {
                out.data[c * self.rows + r] = self.at(r, c);
            }
        }
        out
    }
    /// The naive triple loop.
    pub(super) fn matmul(&self, other: &Dense) -> Dense {
        assert_eq!(self.cols, other.rows);
        let mut out = Self::zeros(self.rows, other.cols);
        for i in 0..self.rows {
            for j in 0..other.cols {
                let mut acc = 0.0;
                for p in 0..self.cols {
                    acc += self.at(i, p) * other.at(p, j);
                }
                out.data[i * other.cols + j] = acc;
            }
        }
        out
    }
    pub(super) fn axpby(&self, alpha: f64, other: Option<(f64, &Dense)>) -> Dense {
        let mut out = self.clone();
        for (k, x) in out.data.iter_mut().enumerate() {
            *x = alpha * *x + other.map_or(0.0, |(beta, o)| beta * o.data[k]);
        }
        out
    }
    pub(super) fn max_abs_diff(&self, other: &Dense) -> f64 {
        assert_eq!((self.rows, self.cols), (other.rows, other.cols));
        self.data.iter().zip(&other.data).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max)
    }
}

/// Loads `m` into buffer `id` of `s` as `T`, held row-major (`transposed = false`) or as its
/// transpose (`transposed = true`: the buffer holds mᵀ and the view reads it back as m).
pub(super) fn load<T: super::MatrixElement>(
    s: &mut super::MatrixScratch<T>,
    id: usize,
    m: &Dense,
    transposed: bool,
) -> MatView {
    let held = if transposed { m.t() } else { m.clone() };
    let data: Vec<T> = held.data.iter().map(|&x| T::from_f64(x)).collect();
    let v = s.load(id, &data, held.rows, held.cols);
    if transposed { v.t() } else { v }
}

/// The logical matrix `v` of `s`, in `f64` (read through `store`).
pub(super) fn read<T: super::MatrixElement>(s: &super::MatrixScratch<T>, v: MatView) -> Dense {
    let mut out = vec![T::ZERO; v.len()];
    s.store(v, &mut out);
    Dense { rows: v.rows, cols: v.cols, data: out.iter().map(|x| x.to_f64()).collect() }
}
