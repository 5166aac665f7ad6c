//! The scratch state: numbered matrix buffers, faer's workspace, and the thread policy.

use core::fmt;

use faer::dyn_stack::{MemBuffer, MemStack, StackReq};
use faer::{MatMut, MatRef};

use super::element::MatrixElement;
use super::view::MatView;
use crate::MAX_STATES;

/// Numbered scratch matrices, allocated on first use and reused (they grow, never shrink), plus
/// the workspace faer needs (one [`MemBuffer`] grown to the largest request seen), so that after
/// a first call with the largest shapes, further calls allocate nothing (see the [module
/// docs](super) for the one exception: faer's multi-threaded paths).
///
/// Operations read their operands from buffers and write their result to a buffer, returning
/// the result's [`MatView`].
///
/// ```
/// use optim_core::matrix::{MatrixScratch, Rounding};
///
/// let mut scratch = MatrixScratch::<f64>::new();
/// let x = scratch.load(0, &[1.0, 2.0, 3.0, 4.0], 2, 2);
/// let gram = scratch.gemm(1, 1.0, x, x.t(), None, Rounding::Exact); // X·Xᵀ
/// let mut out = [0.0; 4];
/// scratch.store(gram, &mut out);
/// assert_eq!(out, [5.0, 11.0, 11.0, 25.0]);
/// ```
pub struct MatrixScratch<T> {
    /// The numbered matrices.
    pub(super) buffers: Vec<Vec<T>>,
    /// faer's workspace, grown to `mem_req` (`None` until a decomposition asks for one).
    pub(super) mem: Option<MemBuffer>,
    pub(super) mem_req: StackReq,
    /// A decomposition's working copy of its input (column-major).
    pub(super) work: Vec<T>,
    /// Householder factors of a QR.
    pub(super) factor: Vec<T>,
    /// One row of temporaries.
    pub(super) row: Vec<T>,
    /// Eigenvalues of the last decomposition.
    pub(super) values: Vec<T>,
    /// A permutation being sorted.
    pub(super) order: Vec<usize>,
    /// Single-precision copies of a product's operands and result, for a bfloat16 product when
    /// `T` is `f64` (it accumulates in `f32`, as torch's does).
    pub(super) low: [Vec<f32>; 3],
    /// Whether operations may use the current rayon pool's threads.
    parallel: bool,
    /// Per buffer: whether it holds a symmetric matrix a product wrote (`X·Xᵀ`, or a product
    /// and sum of symmetric matrices), so a later product of it computes half its result.
    pub(super) symmetric: Vec<bool>,
}

impl<T: MatrixElement> MatrixScratch<T> {
    /// An empty scratch; nothing is allocated until the first operation.
    ///
    /// ```
    /// use optim_core::matrix::MatrixScratch;
    ///
    /// let scratch = MatrixScratch::<f32>::new();
    /// assert!(scratch.is_parallel());
    /// ```
    pub fn new() -> Self {
        MatrixScratch {
            buffers: Vec::new(),
            mem: None,
            mem_req: StackReq::EMPTY,
            work: Vec::new(),
            factor: Vec::new(),
            row: Vec::new(),
            values: Vec::new(),
            order: Vec::new(),
            low: [Vec::new(), Vec::new(), Vec::new()],
            parallel: true,
            symmetric: Vec::new(),
        }
    }

    /// Whether products run on the current rayon pool's threads (the default) or on the
    /// calling thread only.
    ///
    /// ```
    /// use optim_core::matrix::MatrixScratch;
    ///
    /// let mut scratch = MatrixScratch::<f64>::new();
    /// scratch.set_parallel(false);
    /// assert!(!scratch.is_parallel());
    /// ```
    pub fn is_parallel(&self) -> bool {
        self.parallel
    }

    /// Lets products use the threads of the current rayon pool (`true`, the default: the pool
    /// an optimizer runs in under `pool.install`), or keeps them on the calling thread
    /// (`false`). Results are
    /// the same either way (see the [module docs](super)); decompositions always run on the
    /// calling thread.
    ///
    /// ```
    /// use optim_core::matrix::{MatrixScratch, Rounding};
    ///
    /// let mut scratch = MatrixScratch::<f64>::new();
    /// scratch.set_parallel(false);
    /// let a = scratch.load(0, &[2.0], 1, 1);
    /// let p = scratch.gemm(1, 1.0, a, a, None, Rounding::Exact);
    /// assert_eq!(scratch.norm(p), 4.0);
    /// ```
    pub fn set_parallel(&mut self, parallel: bool) {
        self.parallel = parallel;
    }

    /// Copies `data` (row-major, `rows x cols`) into buffer `dst`.
    ///
    /// ```
    /// use optim_core::matrix::{MatView, MatrixScratch};
    ///
    /// let mut scratch = MatrixScratch::<f32>::new();
    /// let v = scratch.load(3, &[1.0, 2.0, 3.0], 1, 3);
    /// assert_eq!(v, MatView { buffer: 3, rows: 1, cols: 3, transposed: false });
    /// assert_eq!(scratch.data(v), &[1.0, 2.0, 3.0]);
    /// ```
    ///
    /// # Panics
    /// If `data.len() != rows * cols`.
    pub fn load(&mut self, dst: usize, data: &[T], rows: usize, cols: usize) -> MatView {
        assert_eq!(data.len(), rows * cols, "load: {} elements for a {rows} x {cols} matrix", data.len());
        self.slot(dst, data.len())[..data.len()].copy_from_slice(data);
        MatView { buffer: dst, rows, cols, transposed: false }
    }

    /// Writes the logical matrix `v` row-major into `out` (materialising a transpose).
    ///
    /// ```
    /// use optim_core::matrix::MatrixScratch;
    ///
    /// let mut scratch = MatrixScratch::<f64>::new();
    /// let v = scratch.load(0, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3, 2);
    /// let mut out = [0.0; 6];
    /// scratch.store(v.t(), &mut out);
    /// assert_eq!(out, [1.0, 3.0, 5.0, 2.0, 4.0, 6.0]);
    /// ```
    ///
    /// # Panics
    /// If `out.len() != v.len()`, or `v` reaches past its buffer.
    pub fn store(&self, v: MatView, out: &mut [T]) {
        assert_eq!(out.len(), v.len(), "store: {} elements for a {} x {} matrix", out.len(), v.rows, v.cols);
        if v.transposed {
            MatMut::from_row_major_slice_mut(out, v.rows, v.cols).copy_from(self.mat(v));
        } else {
            out.copy_from_slice(self.data(v));
        }
    }

    /// The elements of `v` as its buffer holds them: row-major, or the transpose's row-major
    /// order when `v.transposed`.
    ///
    /// ```
    /// use optim_core::matrix::MatrixScratch;
    ///
    /// let mut scratch = MatrixScratch::<f32>::new();
    /// let v = scratch.load(0, &[1.0, 2.0], 2, 1);
    /// assert_eq!(scratch.data(v.t()), &[1.0, 2.0]);
    /// ```
    ///
    /// # Panics
    /// If `v` reaches past its buffer.
    pub fn data(&self, v: MatView) -> &[T] {
        &self.buffers[v.buffer][..v.len()]
    }

    /// The first `len` elements of each buffer in `ids` (distinct), grown as needed: for element
    /// kernels that read and write buffers directly. Slot `k` of the result is `ids[k]`'s; the
    /// slots past `ids.len()` are empty.
    ///
    /// ```
    /// use optim_core::matrix::MatrixScratch;
    ///
    /// let mut scratch = MatrixScratch::<f64>::new();
    /// let [x, y, ..] = scratch.buffers_mut(&[4, 1], 2);
    /// x.copy_from_slice(&[1.0, 2.0]);
    /// y[1] = 3.0;
    /// assert_eq!(scratch.data(optim_core::matrix::MatView { buffer: 1, rows: 1, cols: 2, transposed: false }), &[0.0, 3.0]);
    /// ```
    ///
    /// # Panics
    /// If `ids` repeats a buffer or holds more than [`MAX_STATES`] ids.
    pub fn buffers_mut(&mut self, ids: &[usize], len: usize) -> [&mut [T]; MAX_STATES] {
        assert!(ids.len() <= MAX_STATES, "buffers_mut: more than {MAX_STATES} buffers");
        for (k, &id) in ids.iter().enumerate() {
            assert!(!ids[..k].contains(&id), "buffers_mut: buffer {id} requested twice");
            self.slot(id, len);
        }
        let mut out: [&mut [T]; MAX_STATES] = Default::default();
        for (id, buffer) in self.buffers.iter_mut().enumerate() {
            if let Some(k) = ids.iter().position(|&i| i == id) {
                out[k] = &mut buffer[..len];
            }
        }
        out
    }

    /// Buffer `id`, grown to at least `len` elements.
    pub(super) fn slot(&mut self, id: usize, len: usize) -> &mut Vec<T> {
        if self.buffers.len() <= id {
            self.buffers.resize_with(id + 1, Vec::new);
            self.symmetric.resize(id + 1, false);
        }
        // whoever asks for the buffer writes it: what it held is gone
        self.symmetric[id] = false;
        let buffer = &mut self.buffers[id];
        if buffer.len() < len {
            buffer.resize(len, T::ZERO);
        }
        buffer
    }

    /// Takes buffer `id` out (grown to `len`), so that it can be written while others are read;
    /// [`Self::put`] returns it. Moving a `Vec` out and back allocates nothing.
    pub(super) fn take(&mut self, id: usize, len: usize) -> Vec<T> {
        core::mem::take(self.slot(id, len))
    }

    /// Whether `v` is known to be a symmetric matrix (written by a product that is).
    pub(super) fn is_symmetric(&self, v: MatView) -> bool {
        v.rows == v.cols && self.symmetric.get(v.buffer).copied().unwrap_or(false)
    }

    /// Returns a buffer taken by [`Self::take`].
    pub(super) fn put(&mut self, id: usize, buffer: Vec<T>) {
        self.buffers[id] = buffer;
    }

    /// `v` as a faer matrix.
    pub(super) fn mat(&self, v: MatView) -> MatRef<'_, T> {
        mat_ref(&self.buffers[v.buffer], v)
    }

    /// The threads a product may use: the current rayon pool's, or one.
    pub(super) fn threads(&self) -> usize {
        if self.parallel { rayon::current_num_threads() } else { 1 }
    }
}

/// faer's workspace of `scratch`, grown (never shrunk) to hold `req`: a free function over the
/// two fields, so that callers can read the buffers while the stack is borrowed.
pub(super) fn stack<'a>(mem: &'a mut Option<MemBuffer>, mem_req: &mut StackReq, req: StackReq) -> &'a mut MemStack {
    let fits = mem.is_some() && req.size_bytes() <= mem_req.size_bytes() && req.align_bytes() <= mem_req.align_bytes();
    if !fits {
        *mem_req = mem_req.or(req);
        *mem = Some(MemBuffer::new(*mem_req));
    }
    MemStack::new(mem.as_mut().expect("allocated above"))
}

/// The logical matrix `v` over `data` (its buffer, or a copy laid out the same way).
pub(super) fn mat_ref<U>(data: &[U], v: MatView) -> MatRef<'_, U> {
    let data = &data[..v.len()];
    if v.transposed {
        MatRef::from_row_major_slice(data, v.cols, v.rows).transpose()
    } else {
        MatRef::from_row_major_slice(data, v.rows, v.cols)
    }
}

impl<T: MatrixElement> Default for MatrixScratch<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// Clones the buffers and the thread policy; faer's workspace starts empty again.
impl<T: MatrixElement> Clone for MatrixScratch<T> {
    fn clone(&self) -> Self {
        MatrixScratch { buffers: self.buffers.clone(), parallel: self.parallel, ..Self::new() }
    }
}

impl<T: fmt::Debug> fmt::Debug for MatrixScratch<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shapes: Vec<usize> = self.buffers.iter().map(Vec::len).collect();
        f.debug_struct("MatrixScratch")
            .field("buffer_lens", &shapes)
            .field("workspace_bytes", &self.mem_req.size_bytes())
            .field("parallel", &self.parallel)
            .finish()
    }
}
