//! Sums of columns, a descending argsort, and rows or columns taken in a given order: SOAP's
//! re-sorting of its eigenbasis by estimated eigenvalues after each power iteration.
//!
//! An order is a `1 x n` matrix holding indices as numbers (exact in `f32` up to 2^24), as
//! `torch.argsort` returns indices that `index_select` reads.

use super::element::MatrixElement;
use super::scratch::MatrixScratch;
use super::view::MatView;

impl<T: MatrixElement> MatrixScratch<T> {
    /// The sum of each column of `a` into buffer `dst`, a `1 x cols` matrix (`a.sum(dim=0)`),
    /// each sum taken from the first row down.
    ///
    /// ```
    /// use optim_core::matrix::MatrixScratch;
    ///
    /// let mut s = MatrixScratch::<f64>::new();
    /// let a = s.load(0, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 2, 3);
    /// let sums = s.column_sums(1, a);
    /// assert_eq!((sums.rows, sums.cols), (1, 3));
    /// assert_eq!(s.data(sums), &[5.0, 7.0, 9.0]);
    /// let transposed = s.column_sums(2, a.t());
    /// assert_eq!(s.data(transposed), &[6.0, 15.0]);
    /// ```
    ///
    /// # Panics
    /// If `dst` is `a`'s buffer.
    pub fn column_sums(&mut self, dst: usize, a: MatView) -> MatView {
        assert_ne!(dst, a.buffer, "column_sums: the result over its operand");
        let n = a.cols;
        let mut d = self.take(dst, n);
        let source = self.mat(a);
        for (j, out) in d[..n].iter_mut().enumerate() {
            *out = (0..a.rows).fold(T::ZERO, |acc, i| acc + source[(i, j)]);
        }
        self.put(dst, d);
        MatView { buffer: dst, rows: 1, cols: n, transposed: false }
    }

    /// The indices that sort the `1 x n` matrix `keys` from largest to smallest, as numbers in
    /// buffer `dst` (`torch.argsort(keys, descending=True)`); equal keys keep their order, and
    /// NaN sorts first, as the largest.
    ///
    /// ```
    /// use optim_core::matrix::MatrixScratch;
    ///
    /// let mut s = MatrixScratch::<f32>::new();
    /// let keys = s.load(0, &[0.5, 2.0, -1.0, 2.0], 1, 4);
    /// let order = s.argsort_descending(1, keys);
    /// assert_eq!(s.data(order), &[1.0, 3.0, 0.0, 2.0]);
    /// ```
    ///
    /// # Panics
    /// If `keys` has more than one row, or `dst` is its buffer.
    pub fn argsort_descending(&mut self, dst: usize, keys: MatView) -> MatView {
        assert_eq!(keys.rows, 1, "argsort_descending: {} rows, one expected", keys.rows);
        assert_ne!(dst, keys.buffer, "argsort_descending: the result over its keys");
        let n = keys.cols;
        let mut order = core::mem::take(&mut self.order);
        order.clear();
        order.extend(0..n); // within the capacity of earlier calls: no allocation
        let values = self.data(keys);
        let rank = |x: T| if x.to_f64().is_nan() { f64::INFINITY } else { x.to_f64() };
        order.sort_by(|&i, &j| rank(values[j]).total_cmp(&rank(values[i])));
        let d = self.slot(dst, n);
        for (out, &index) in d[..n].iter_mut().zip(&order) {
            *out = T::from_f64(index as f64);
        }
        self.order = order;
        MatView { buffer: dst, rows: 1, cols: n, transposed: false }
    }

    /// Rows of `a` in the order `order` gives (a `1 x rows` matrix of indices) into buffer
    /// `dst`: `a.index_select(0, order)`.
    ///
    /// ```
    /// use optim_core::matrix::MatrixScratch;
    ///
    /// let mut s = MatrixScratch::<f64>::new();
    /// let a = s.load(0, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3, 2);
    /// let order = s.load(1, &[2.0, 0.0, 1.0], 1, 3);
    /// let taken = s.take_rows(2, a, order);
    /// assert_eq!(s.data(taken), &[5.0, 6.0, 1.0, 2.0, 3.0, 4.0]);
    /// ```
    ///
    /// An index that is not a whole number in range gives a row of NaN.
    ///
    /// # Panics
    /// If `order` is not `1 x a.rows`, or `dst` is an operand's buffer.
    pub fn take_rows(&mut self, dst: usize, a: MatView, order: MatView) -> MatView {
        self.take_along(dst, a, order, true)
    }

    /// Columns of `a` in the order `order` gives (`1 x cols`) into buffer `dst`:
    /// `a.index_select(1, order)`.
    ///
    /// ```
    /// use optim_core::matrix::MatrixScratch;
    ///
    /// let mut s = MatrixScratch::<f64>::new();
    /// let a = s.load(0, &[1.0, 2.0, 3.0, 4.0], 2, 2);
    /// let order = s.load(1, &[1.0, 0.0], 1, 2);
    /// let taken = s.take_cols(2, a, order);
    /// assert_eq!(s.data(taken), &[2.0, 1.0, 4.0, 3.0]);
    /// ```
    ///
    /// # Panics
    /// As [`Self::take_rows`].
    pub fn take_cols(&mut self, dst: usize, a: MatView, order: MatView) -> MatView {
        self.take_along(dst, a, order, false)
    }

    fn take_along(&mut self, dst: usize, a: MatView, order: MatView, rows: bool) -> MatView {
        let along = if rows { a.rows } else { a.cols };
        assert!(order.rows == 1 && order.cols == along, "take: an order of {} for {along}", order.len());
        assert!(dst != a.buffer && dst != order.buffer, "take: the result over an operand");
        let (m, n) = (a.rows, a.cols);
        let mut d = self.take(dst, m * n);
        let source = self.mat(a);
        let indices = self.data(order);
        // an index that is not one of 0..along (an order not made by `argsort_descending`)
        // takes NaN, not a panic or a wrap-around
        let index = |k: usize| {
            let i = indices[k].to_f64();
            (i >= 0.0 && i.fract() == 0.0 && i < along as f64).then_some(i as usize)
        };
        let nan = T::from_f64(f64::NAN);
        for i in 0..m {
            for j in 0..n {
                let taken = if rows { index(i).map(|r| source[(r, j)]) } else { index(j).map(|c| source[(i, c)]) };
                d[i * n + j] = taken.unwrap_or(nan);
            }
        }
        self.put(dst, d);
        MatView { buffer: dst, rows: m, cols: n, transposed: false }
    }
}
