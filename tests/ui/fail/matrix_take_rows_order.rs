optim::optimizer! {
    pub Sorted {
        hyper { lr = 0.1 }
        step {
            let m = as_matrix(grad);
            let order = argsort_descending(column_sums(m));
            param -= lr * take_rows(m, order);
        }
    }
}
fn main() {}
