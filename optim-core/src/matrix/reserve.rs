//! Sizing ahead: a program grows every buffer and workspace it may use before its first
//! statement, so that a branch taken for the first time at a later step (SOAP's refresh of its
//! bases every few steps) allocates nothing then.

use faer::Par;
use faer::dyn_stack::StackReq;
use faer::linalg::evd::{self, ComputeEigenvectors};
use faer::linalg::householder;
use faer::linalg::qr::no_pivoting::factor::{qr_in_place_scratch, recommended_block_size};

use super::element::MatrixElement;
use super::scratch::{MatrixScratch, stack};

/// The workspace of the eigendecomposition of a symmetric `n x n` matrix.
pub(super) fn eigh_requirement<T: MatrixElement>(n: usize) -> StackReq {
    evd::self_adjoint_evd_scratch::<T>(n, ComputeEigenvectors::Yes, Par::Seq, Default::default())
}

/// The block size and workspace of the QR of an `m x k` matrix (`k <= m`) and of building its Q.
pub(super) fn qr_requirement<T: MatrixElement>(m: usize, k: usize) -> (usize, StackReq) {
    let block = recommended_block_size::<T>(m, k);
    let req = StackReq::any_of(&[
        qr_in_place_scratch::<T>(m, k, block, Par::Seq, Default::default()),
        householder::apply_block_householder_sequence_on_the_left_in_place_scratch::<T>(m, block, k),
    ]);
    (block, req)
}

/// `v` grown (never shrunk) to `len` elements.
pub(super) fn grow<T: MatrixElement>(v: &mut Vec<T>, len: usize) {
    if v.len() < len {
        v.resize(len, T::ZERO);
    }
}

impl<T: MatrixElement> MatrixScratch<T> {
    /// Grows buffer `id` to at least `len` elements (what it held is kept).
    ///
    /// ```
    /// use optim_core::matrix::{MatView, MatrixScratch};
    ///
    /// let mut s = MatrixScratch::<f32>::new();
    /// s.reserve(2, 6);
    /// assert_eq!(s.data(MatView { buffer: 2, rows: 2, cols: 3, transposed: false }), &[0.0; 6]);
    /// ```
    pub fn reserve(&mut self, id: usize, len: usize) {
        if self.buffers.get(id).is_none_or(|b| b.len() < len) {
            self.slot(id, len);
        }
    }

    /// Grows the workspace to what [`Self::eigh_descending`] of an `n x n` matrix needs.
    ///
    /// ```
    /// use optim_core::matrix::MatrixScratch;
    ///
    /// let mut s = MatrixScratch::<f64>::new();
    /// s.reserve_eigh(3); // a later eigh of order 3 allocates only its result buffer
    /// ```
    pub fn reserve_eigh(&mut self, n: usize) {
        if n == 0 {
            return; // `eigh` of an empty matrix needs no workspace (and faer's sizing refuses it)
        }
        grow(&mut self.values, n);
        let _ = stack(&mut self.mem, &mut self.mem_req, eigh_requirement::<T>(n));
    }

    /// Grows the workspace to what [`Self::qr_q`] of an `m x n` matrix needs.
    ///
    /// ```
    /// use optim_core::matrix::MatrixScratch;
    ///
    /// let mut s = MatrixScratch::<f32>::new();
    /// s.reserve_qr(4, 4);
    /// ```
    pub fn reserve_qr(&mut self, m: usize, n: usize) {
        let k = m.min(n);
        let (block, req) = qr_requirement::<T>(m, k);
        grow(&mut self.work, m * k);
        grow(&mut self.factor, block * k);
        grow(&mut self.row, k);
        let _ = stack(&mut self.mem, &mut self.mem_req, req);
    }

    /// Grows the index buffer [`Self::argsort_descending`] sorts to `n` entries.
    ///
    /// ```
    /// use optim_core::matrix::MatrixScratch;
    ///
    /// let mut s = MatrixScratch::<f32>::new();
    /// s.reserve_order(16);
    /// ```
    pub fn reserve_order(&mut self, n: usize) {
        self.order.reserve(n.saturating_sub(self.order.len()));
    }
}
