//! After a first call with the largest shapes, matrix operations allocate nothing: measured with
//! a counting global allocator. One test function, so that nothing else allocates meanwhile.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use optim_core::matrix::{MatrixElement, MatrixScratch, Rounding};

struct Counting;
static COUNT: AtomicUsize = AtomicUsize::new(0);
static BYTES: AtomicUsize = AtomicUsize::new(0);
/// The sizes of the first allocations counted, for the report.
static SIZES: [AtomicUsize; 32] = [const { AtomicUsize::new(0) }; 32];

fn record(size: usize) {
    let k = COUNT.fetch_add(1, Ordering::Relaxed);
    BYTES.fetch_add(size, Ordering::Relaxed);
    if let Some(slot) = SIZES.get(k) {
        slot.store(size, Ordering::Relaxed);
    }
}

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations (count, bytes, first sizes) made by `f`.
/// The counter is process-wide: a rayon worker of a pool dropped just before may still be
/// exiting (and allocating) during a window. An operation that allocates does so every time, so
/// the fewest of three windows keeps it and drops the stray ones (as `tests/no_alloc.rs` does).
fn fewest_of_three(mut f: impl FnMut()) -> (usize, usize, Vec<usize>) {
    let runs = [allocations(&mut f), allocations(&mut f), allocations(&mut f)];
    runs.into_iter().min_by_key(|(count, bytes, _)| (*count, *bytes)).unwrap_or_default()
}

fn allocations(f: impl FnOnce()) -> (usize, usize, Vec<usize>) {
    let (count, bytes) = (COUNT.load(Ordering::SeqCst), BYTES.load(Ordering::SeqCst));
    SIZES.iter().for_each(|s| s.store(0, Ordering::Relaxed));
    COUNT.store(0, Ordering::SeqCst);
    f();
    let made = COUNT.load(Ordering::SeqCst);
    let sizes = SIZES.iter().take(made).map(|s| s.load(Ordering::Relaxed)).collect();
    let made_bytes = BYTES.load(Ordering::SeqCst) - bytes;
    COUNT.store(count + made, Ordering::SeqCst);
    (made, made_bytes, sizes)
}

/// The Newton–Schulz products on 256x256 (with a transposed operand, accumulation in place and
/// bfloat16 rounding), then the decompositions.
fn workload<T: MatrixElement>(s: &mut MatrixScratch<T>, x: &[T], decompositions: bool) {
    let n = 256;
    let xv = s.load(0, x, n, n);
    let gram = s.gemm(1, 1.0, xv, xv.t(), None, Rounding::Exact);
    let poly = s.gemm(2, 2.0315, gram, gram, Some((-4.775, gram)), Rounding::Exact);
    let next = s.gemm(3, 1.0, poly, xv, Some((3.4445, xv)), Rounding::Bf16);
    let next = s.gemm(3, 1.0, poly, xv, Some((1.0, next)), Rounding::Exact);
    s.axpby(4, 0.5, next, Some((0.5, xv.t())), Rounding::Bf16);
    let norm = s.norm(next);
    assert!(norm.is_finite());
    if decompositions {
        let mut values = [T::ZERO; 256];
        s.eigh(gram, 5, &mut values).expect("converges");
        s.qr_q(xv, 6);
    }
}

fn in_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a pool").install(f)
}

fn data<T: MatrixElement>() -> Vec<T> {
    (0..256 * 256).map(|i| T::from_f64(((i * 7919) % 257) as f64 / 257.0 - 0.5)).collect()
}

#[test]
fn matrix_operations_allocate_nothing_after_warm_up() {
    let (x32, x64) = (data::<f32>(), data::<f64>());

    // a one-thread pool, parallelism turned off in a two-thread pool, and products split
    // between the two threads of a pool
    for (threads, parallel) in [(1, true), (2, false), (2, true)] {
        in_pool(threads, || {
            let (mut s32, mut s64) = (MatrixScratch::<f32>::new(), MatrixScratch::<f64>::new());
            s32.set_parallel(parallel);
            s64.set_parallel(parallel);
            let (warm, _, _) = allocations(|| {
                workload(&mut s32, &x32, true);
                workload(&mut s64, &x64, true);
            });
            assert!(warm > 0, "the first call allocates the buffers");
            let (count, bytes, sizes) = fewest_of_three(|| {
                workload(&mut s32, &x32, true);
                workload(&mut s64, &x64, true);
            });
            assert_eq!((count, bytes), (0, 0), "{threads} thread(s), parallel {parallel}: sizes {sizes:?}");
        });
    }

    // the gemm alone, twice, in a one-thread pool: the second call allocates nothing
    in_pool(1, || {
        let mut s = MatrixScratch::<f32>::new();
        let x = s.load(0, &x32, 256, 256);
        s.gemm(1, 1.0, x, x.t(), None, Rounding::Exact);
        let (count, bytes, _) = fewest_of_three(|| {
            s.gemm(1, 1.0, x, x.t(), None, Rounding::Exact);
        });
        assert_eq!((count, bytes), (0, 0));
    });
}
