//! State buffers placed so that the streams of one step do not alias in the cache.
//!
//! Large allocations come straight from the OS, page-aligned plus the allocator's header, so a
//! parameter, its gradient and freshly allocated state tensors all start at the same offset
//! within a 4 KiB page. A kernel that streams through several of them at once then has loads and
//! stores whose addresses agree in their low 12 bits, and the core's memory disambiguation
//! stalls on false dependencies ("4K aliasing"): the Adam step measured 31-32 GB/s that way and
//! 40-43 GB/s with staggered arrays. Each state tensor therefore starts at its own offset.

use core::ops::{Deref, DerefMut};

/// Below this size a tensor lives in cache and aliasing does not matter; no padding.
const STAGGER_FROM_BYTES: usize = 64 * 1024;
/// Distance between the start offsets of consecutive state tensors of one parameter.
const STAGGER_BYTES: usize = 576;

/// One state tensor's elements, row-major, starting `offset` elements into its allocation.
#[derive(Debug, Clone)]
pub(crate) struct StateBuffer<T> {
    storage: Vec<T>,
    offset: usize,
}

impl<T: Copy> StateBuffer<T> {
    /// `len` copies of `value`, placed for state number `index` of its parameter.
    pub(crate) fn filled(value: T, len: usize, index: usize) -> Self {
        let element = core::mem::size_of::<T>().max(1);
        let offset = if len * element >= STAGGER_FROM_BYTES { (index + 1) * STAGGER_BYTES / element } else { 0 };
        StateBuffer { storage: vec![value; offset + len], offset }
    }

    /// A buffer holding `values`, placed for state number `index` of its parameter.
    pub(crate) fn from_values(values: impl Iterator<Item = T>, index: usize) -> Self {
        let values: Vec<T> = values.collect();
        let Some(&first) = values.first() else { return StateBuffer::default() };
        let mut placed = StateBuffer::filled(first, values.len(), index);
        placed.copy_from_slice(&values);
        placed
    }
}

impl<T> Default for StateBuffer<T> {
    fn default() -> Self {
        StateBuffer { storage: Vec::new(), offset: 0 }
    }
}

impl<T> Deref for StateBuffer<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.storage[self.offset..]
    }
}

impl<T> DerefMut for StateBuffer<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        &mut self.storage[self.offset..]
    }
}

impl<T: PartialEq> PartialEq for StateBuffer<T> {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

#[cfg(test)]
mod tests {
    use super::StateBuffer;

    #[test]
    fn large_buffers_of_one_parameter_start_at_different_page_offsets() {
        let n = 1 << 20;
        let offsets: Vec<usize> =
            (0..3).map(|i| StateBuffer::filled(0.0f32, n, i)).map(|b| b.as_ptr() as usize % 4096).collect();
        assert!(offsets[0] != offsets[1] && offsets[1] != offsets[2] && offsets[0] != offsets[2], "{offsets:?}");
        let small = StateBuffer::filled(1.0f64, 10, 2);
        assert_eq!((small.len(), small[9]), (10, 1.0));
    }

    #[test]
    fn values_round_trip_and_equality_ignores_padding() {
        let values: Vec<f32> = (0..70_000).map(|i| i as f32).collect();
        let a = StateBuffer::from_values(values.iter().copied(), 0);
        let b = StateBuffer::from_values(values.iter().copied(), 3);
        assert_eq!(&a[..], &values[..]);
        assert_eq!(a, b);
    }
}
