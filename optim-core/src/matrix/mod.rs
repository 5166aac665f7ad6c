//! The linear-algebra runtime of the matrix stage: products, element-wise combinations, norms
//! and decompositions over numbered scratch matrices, on [faer](https://docs.rs/faer).
//!
//! A [`MatrixScratch`] holds the numbered buffers; a [`MatView`] names a logical matrix in one
//! of them (possibly transposed, without a copy); every operation writes its result to a
//! buffer and returns its view. [`Rounding::Bf16`] reproduces torch's bfloat16 arithmetic
//! (stock Muon's Newton–Schulz iteration).
//!
//! # Threads and determinism
//!
//! A product runs on the threads of the *current* rayon pool (`rayon::current_num_threads()`,
//! so an optimizer run under `pool.install` uses that pool): the rows of its result are cut
//! into one band per thread, each band computed by faer's sequential gemm, the bands run with
//! `rayon::join`. Results are bit-identical whatever the thread count: faer's sequential gemm
//! sums over the inner dimension in an order that does not depend on how many rows it is
//! given (checked for bands of 1 to 512 rows on the Newton–Schulz shapes; the tests compare 1,
//! 2, 3 and 4 threads, `f32` and `f64`, every transposition, shapes from 64³ to deep
//! `16x5000·5000x40` products). faer's own parallel gemm is not used: it allocates its job
//! tables and thread-team state on every call (9 blocks, 447 bytes for a 256x256 `f32`
//! product on 2 threads). The decompositions run sequentially: faer's parallel blocked
//! Householder code splits columns by thread count and picks kernels by block shape (`qr_q`
//! of 300x260 differed in 70 494 of 78 000 elements between 1 and 2 threads, `eigh` of order
//! 520 in 270 730 of 270 920).
//!
//! Results are the same across runs and thread counts on one machine; faer picks its kernels
//! by instruction set (AVX-512, AVX2), so another CPU may round differently.
//!
//! # Allocations
//!
//! Buffers and faer's workspace grow to the largest shapes seen and are reused: after a first
//! call, operations allocate nothing, on one thread or many, decompositions included
//! (`tests/matrix_no_alloc.rs`).
//!
//! [`gemm`]: MatrixScratch::gemm
//! [`eigh`]: MatrixScratch::eigh
//! [`qr_q`]: MatrixScratch::qr_q
//!
//! ```
//! use optim_core::matrix::{MatrixScratch, Rounding};
//!
//! // one Newton–Schulz step of Muon: A = X·Xᵀ, B = b·A + c·A·A, X = a·X + B·X
//! let (a, b, c) = (3.4445, -4.7750, 2.0315);
//! let mut s = MatrixScratch::<f32>::new();
//! let x = s.load(0, &[0.6, 0.0, 0.0, 0.8], 2, 2);
//! let gram = s.gemm(1, 1.0, x, x.t(), None, Rounding::Exact);
//! let poly = s.gemm(2, c, gram, gram, Some((b, gram)), Rounding::Exact);
//! let next = s.gemm(3, 1.0, poly, x, Some((a, x)), Rounding::Exact);
//! let mut out = [0.0f32; 4];
//! s.store(next, &mut out);
//! let f = |v: f64| a * v + b * v.powi(3) + c * v.powi(5);
//! assert!((f64::from(out[0]) - f(0.6)).abs() < 1e-5 && (f64::from(out[3]) - f(0.8)).abs() < 1e-5);
//! ```

mod decompose;
mod element;
mod elementwise;
mod product;
mod reorder;
mod reserve;
mod scratch;
mod view;

pub use element::MatrixElement;
#[doc(hidden)]
pub use element::sealed::Sealed as ElementForMatrices;
pub use scratch::MatrixScratch;
pub use view::{MatView, MatrixError, Rounding};

#[cfg(test)]
mod tests;
