//! `step()` allocates nothing once state exists: measured with a counting global allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use optim::builtins::{Adam, RmsProp, Sgd};
use optim::{Optimizer, Param, Rule};

struct Counting;
static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by steps 2..=11 of `R` over tensors of `sizes` (gradients set beforehand).
fn allocations_after_first_step<R: Rule>(hyper: R::Hyper, sizes: &[usize]) -> usize {
    let params: Vec<Param<f32>> = sizes.iter().map(|&n| Param::new(ndarray::ArrayD::zeros(vec![n]))).collect();
    for (p, &n) in params.iter().zip(sizes) {
        p.set_grad(ndarray::ArrayD::from_elem(vec![n], 0.5));
    }
    let mut opt = Optimizer::<R, f32>::new(params, hyper).unwrap();
    opt.step().unwrap();
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    for _ in 0..10 {
        opt.step().unwrap();
    }
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

#[test]
fn steps_after_the_first_do_not_allocate() {
    // warm rayon's global pool up so its one-time setup is not counted
    rayon::join(|| (), || ());
    let small = [10, 1000, 3];
    let large = [1 << 20, 300_000, 4096, 4096, 7];
    let cases = [
        ("Adam, small (inline)", allocations_after_first_step::<Adam>(Adam::hyper().amsgrad(true), &small)),
        ("SGD+momentum, small (inline)", allocations_after_first_step::<Sgd>(Sgd::hyper().momentum(0.9), &small)),
        ("RMSprop, small (inline)", allocations_after_first_step::<RmsProp>(RmsProp::hyper().centered(true), &small)),
        ("Adam, large (parallel)", allocations_after_first_step::<Adam>(Adam::hyper(), &large)),
        ("SGD, large (parallel)", allocations_after_first_step::<Sgd>(Sgd::hyper(), &large)),
    ];
    for (name, count) in cases {
        println!("{name}: {count} allocations in 10 steps");
    }
    for (name, count) in cases {
        assert_eq!(count, 0, "{name}");
    }
}
