//! Decompositions: symmetric eigendecomposition and the Q factor of a thin QR.

use faer::linalg::evd::{self, EvdError};
use faer::linalg::householder::{self, make_householder_in_place};
use faer::linalg::matmul::matmul;
use faer::linalg::qr::no_pivoting::factor::qr_in_place;
use faer::{Accum, ColMut, Conj, MatMut, MatRef, Par, RowMut, unzip, zip};

use super::element::MatrixElement;
use super::reserve::{eigh_requirement, grow, qr_requirement};
use super::scratch::{MatrixScratch, mat_ref, stack};
use super::view::{MatView, MatrixError};

impl<T: MatrixElement> MatrixScratch<T> {
    /// Symmetric eigendecomposition of the square matrix `a` (its lower triangle is read):
    /// eigenvalues ascending into `values`, eigenvectors (the columns of the returned view) into
    /// buffer `vectors`. As `torch.linalg.eigh`, on faer's tridiagonalisation and
    /// divide-and-conquer solver, on the calling thread (see the [module docs](super)).
    ///
    /// The returned view is transposed: faer writes the eigenvectors column-major, which is the
    /// row-major transpose. Each eigenvector's sign is faer's: it may differ from LAPACK's (and
    /// torch's); eigenvectors of a repeated eigenvalue are any orthonormal basis of its space.
    ///
    /// ```
    /// use optim_core::matrix::MatrixScratch;
    ///
    /// let mut s = MatrixScratch::<f64>::new();
    /// let a = s.load(0, &[2.0, 1.0, 1.0, 2.0], 2, 2);
    /// let mut values = [0.0; 2];
    /// let v = s.eigh(a, 1, &mut values).unwrap();
    /// assert!((values[0] - 1.0).abs() < 1e-15 && (values[1] - 3.0).abs() < 1e-15);
    /// let mut vectors = [0.0; 4];
    /// s.store(v, &mut vectors); // row-major: vectors[i * 2 + j] is component i of vector j
    /// assert!((vectors[0].abs() - 0.5f64.sqrt()).abs() < 1e-15);
    /// assert!((vectors[0] + vectors[2]).abs() < 1e-15); // (1, -1) / √2, up to sign
    /// ```
    ///
    /// # Errors
    /// [`MatrixError::NoConvergence`] when faer's solver does not converge (non-finite input).
    ///
    /// # Panics
    /// If `a` is not square, `values.len()` is not its order, or `vectors == a.buffer`.
    pub fn eigh(&mut self, a: MatView, vectors: usize, values: &mut [T]) -> Result<MatView, MatrixError> {
        let n = a.rows;
        assert_eq!(n, a.cols, "eigh: {}x{} is not square", a.rows, a.cols);
        assert_eq!(values.len(), n, "eigh: {} eigenvalue slots for order {n}", values.len());
        assert_ne!(vectors, a.buffer, "eigh: eigenvectors over the input");
        if n == 0 {
            // faer's solver does not take an empty matrix
            self.slot(vectors, 0);
            return Ok(MatView { buffer: vectors, rows: 0, cols: 0, transposed: true });
        }
        let par = Par::Seq; // see the module docs: faer's parallel paths depend on the thread count
        let req = eigh_requirement::<T>(n);
        let mut u = self.take(vectors, n * n);
        let input = mat_ref(&self.buffers[a.buffer], a);
        let (mem, mem_req) = (&mut self.mem, &mut self.mem_req);
        let result = evd::self_adjoint_evd(
            input,
            ColMut::from_slice_mut(values).as_diagonal_mut(),
            Some(MatMut::from_column_major_slice_mut(&mut u[..n * n], n, n)),
            par,
            stack(mem, mem_req, req),
            Default::default(),
        );
        self.put(vectors, u);
        result.map_err(|_: EvdError| MatrixError::NoConvergence)?;
        Ok(MatView { buffer: vectors, rows: n, cols: n, transposed: true })
    }

    /// The eigenvectors of the symmetric matrix `a` as the columns of the returned view, by
    /// descending eigenvalue: `torch.flip(torch.linalg.eigh(a).eigenvectors, [1])`, SOAP's
    /// basis. [`Self::eigh`] with the eigenvalues kept in the scratch (no allocation after the
    /// first call) and the order reversed; signs are faer's (see there).
    ///
    /// ```
    /// use optim_core::matrix::MatrixScratch;
    ///
    /// let mut s = MatrixScratch::<f64>::new();
    /// let a = s.load(0, &[1.0, 0.0, 0.0, 3.0], 2, 2);
    /// let q = s.eigh_descending(a, 1).unwrap();
    /// let mut out = [0.0; 4];
    /// s.store(q, &mut out);
    /// assert_eq!(out.map(f64::abs), [0.0, 1.0, 1.0, 0.0]); // e₁ (eigenvalue 3) first
    /// ```
    ///
    /// # Errors
    /// [`MatrixError::NoConvergence`] when faer's solver does not converge (non-finite input).
    ///
    /// # Panics
    /// As [`Self::eigh`].
    pub fn eigh_descending(&mut self, a: MatView, vectors: usize) -> Result<MatView, MatrixError> {
        let n = a.rows;
        let mut values = core::mem::take(&mut self.values);
        grow(&mut values, n);
        let result = self.eigh(a, vectors, &mut values[..n]);
        self.values = values;
        let view = result?;
        // the buffer holds one eigenvector per row (the view is transposed): reverse the rows
        let buffer = &mut self.buffers[vectors];
        for j in 0..n / 2 {
            let (head, tail) = buffer[..n * n].split_at_mut((n - 1 - j) * n);
            head[j * n..(j + 1) * n].swap_with_slice(&mut tail[..n]);
        }
        Ok(view)
    }

    /// The Q factor of the thin QR of `a` (`m x n`) into buffer `q`: `m x min(m, n)` with
    /// orthonormal columns, as `torch.linalg.qr(a).Q` (mode `"reduced"`).
    ///
    /// Signs follow LAPACK's `geqrf`/`orgqr` (torch's): Householder reflections
    /// `H = I - τvvᵀ` with `v₀ = 1` that map each column onto `βe₀` with
    /// `β = -sign(α)·‖x‖` (`α` the diagonal entry, a zero `α` counting as positive), so R's
    /// diagonal is negative where the column's diagonal entry was positive; a column already
    /// zero below the diagonal gets no reflection (`τ = 0`). faer's reflections have exactly
    /// these signs, and its blocked QR is used as is for matrices of full rank. faer's QR
    /// skips columns it finds (numerically) dependent, which LAPACK does not: when it reports
    /// a rank below `min(m, n)`, the factorisation is redone column by column as LAPACK's
    /// `geqr2` (faer's reflections, faer's products).
    ///
    /// Q depends only on the first `min(m, n)` columns of `a`, as LAPACK's does. The returned
    /// view is transposed (faer builds Q column-major). Runs on the calling thread (see the
    /// [module docs](super)).
    ///
    /// ```
    /// use optim_core::matrix::MatrixScratch;
    ///
    /// let mut s = MatrixScratch::<f64>::new();
    /// let a = s.load(0, &[3.0, 1.0, 4.0, 2.0], 2, 2);
    /// let q = s.qr_q(a, 1);
    /// let mut out = [0.0; 4];
    /// s.store(q, &mut out);
    /// // first column: -(3, 4) / 5, as LAPACK (R₀₀ = -5)
    /// assert!((out[0] + 0.6).abs() < 1e-15 && (out[2] + 0.8).abs() < 1e-15);
    /// ```
    ///
    /// # Panics
    /// If `q == a.buffer`.
    pub fn qr_q(&mut self, a: MatView, q: usize) -> MatView {
        let (m, k) = (a.rows, a.rows.min(a.cols));
        assert_ne!(q, a.buffer, "qr_q: Q over the input");
        let par = Par::Seq; // see the module docs: faer's parallel paths depend on the thread count
        let (block, req) = qr_requirement::<T>(m, k);
        let mut qbuf = self.take(q, m * k);
        grow(&mut self.work, m * k);
        grow(&mut self.factor, block * k);
        grow(&mut self.row, k);
        let input = mat_ref(&self.buffers[a.buffer], a).subcols(0, k);
        let mut work = MatMut::from_column_major_slice_mut(&mut self.work[..m * k], m, k);
        work.copy_from(input);
        let (mem, mem_req) = (&mut self.mem, &mut self.mem_req);
        let stack = stack(mem, mem_req, req);
        let mut factor = MatMut::from_column_major_slice_mut(&mut self.factor[..block * k], block, k);
        let mut block_rows = block;
        if k > 0 && qr_in_place(work.as_mut(), factor.as_mut(), par, stack, Default::default()).rank < k {
            work.copy_from(input);
            geqr2(work.as_mut(), &mut self.factor[..k], &mut self.row[..k]);
            block_rows = 1;
        }
        let factor = MatRef::from_column_major_slice(&self.factor[..block_rows * k], block_rows, k);
        let mut qm = MatMut::from_column_major_slice_mut(&mut qbuf[..m * k], m, k);
        qm.fill(T::ZERO);
        qm.as_mut().diagonal_mut().column_vector_mut().fill(T::from_f64(1.0));
        if k > 0 {
            householder::apply_block_householder_sequence_on_the_left_in_place_with_conj(
                work.as_ref(),
                factor,
                Conj::No,
                qm,
                par,
                stack,
            );
        }
        self.put(q, qbuf);
        MatView { buffer: q, rows: m, cols: k, transposed: true }
    }
}

/// LAPACK's unblocked Householder QR (`geqr2`) of `a` in place, with faer's reflections: R in
/// the upper triangle, the reflections' vectors below the diagonal, and faer's factor of each
/// (`H = I - vvᵀ/τ`, infinite for none) in `tau`; `w` is a row of temporaries.
fn geqr2<T: MatrixElement>(mut a: MatMut<'_, T>, tau: &mut [T], w: &mut [T]) {
    let k = tau.len();
    for j in 0..k {
        let (mut head, top, tail, bottom) = a.as_mut().split_at_mut(j + 1, j + 1);
        let mut tail = tail.col_mut(j);
        let info = make_householder_in_place(&mut head[(j, j)], tail.as_mut());
        tau[j] = info.tau;
        let rest = k - j - 1;
        let scale = -(T::from_f64(1.0) / info.tau);
        if rest == 0 || scale == T::ZERO {
            continue;
        }
        // C -= v (vᵀC) / τ over the trailing columns, with v = (1, tail)
        let mut top = top.row_mut(j);
        let mut w = RowMut::from_slice_mut(&mut w[..rest]);
        w.copy_from(top.as_ref());
        matmul(
            w.as_mut().as_mat_mut(),
            Accum::Add,
            tail.as_ref().transpose().as_mat(),
            bottom.as_ref(),
            T::from_f64(1.0),
            Par::Seq,
        );
        zip!(top.as_mut(), w.as_ref()).for_each(|unzip!(t, x)| *t += scale * *x);
        matmul(bottom, Accum::Add, tail.as_ref().as_mat(), w.as_ref().as_mat(), scale, Par::Seq);
    }
}
