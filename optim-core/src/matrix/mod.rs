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
//! Products run faer's gemm with the threads of the *current* rayon pool
//! (`rayon::current_num_threads()`, so an optimizer run under `pool.install` uses that pool;
//! one thread means faer's sequential path). Their results are bit-identical whatever the
//! thread count (tested for 1, 2, 3 and 4 threads, `f32` and `f64`, every transposition,
//! shapes from 64³ to deep `16x5000·5000x40` products): faer's x86 gemm splits the work by
//! output tiles, and each tile sums over the inner dimension in the same order whoever
//! computes it. Two cases are not, and are kept sequential:
//!
//! - matrix–vector products (one row or one column): faer's parallel column-major
//!   matrix–vector product splits the inner dimension across threads (a `1x600·600x300`
//!   product differed in 285 of its 300 elements between 1 and 2 threads), so [`gemm`] runs
//!   them on the calling thread;
//! - the decompositions: faer's parallel blocked Householder code splits columns by thread
//!   count and picks kernels by block shape (`qr_q` of 300x260 differed in 70 494 of 78 000
//!   elements between 1 and 2 threads, `eigh` of order 520 in 270 730 of 270 920), so
//!   [`eigh`] and [`qr_q`] always run sequentially.
//!
//! Results are the same across runs and thread counts on one machine; faer picks its kernels
//! by instruction set (AVX-512, AVX2), so another CPU may round differently.
//!
//! # Allocations
//!
//! Buffers and faer's workspace grow to the largest shapes seen and are reused: after a first
//! call, sequential operations (a one-thread pool, or [`set_parallel(false)`]) allocate
//! nothing, decompositions included. A *parallel* product allocates a few small blocks per
//! call, in faer's dependencies: for a 256x256 `f32` product on 2 threads, 9 blocks, 447 bytes
//! (642 for `f64`): the job tables of faer's x86 gemm (3 blocks, sized by its tile counts:
//! 192, 3 and 64 bytes), the per-call state of `spindle`, the thread team faer's gemm runs on
//! (5 blocks: two barriers, a worker's flags, its job counters, the team's table), and one
//! rayon scope job (16 bytes). Measured in `tests/matrix_no_alloc.rs`.
//!
//! [`gemm`]: MatrixScratch::gemm
//! [`eigh`]: MatrixScratch::eigh
//! [`qr_q`]: MatrixScratch::qr_q
//! [`set_parallel(false)`]: MatrixScratch::set_parallel
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
mod scratch;
mod view;

pub use element::MatrixElement;
pub use scratch::MatrixScratch;
pub use view::{MatView, MatrixError, Rounding};

#[cfg(test)]
mod tests;
