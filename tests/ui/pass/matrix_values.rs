// Matrix values beside element-wise code: a product read element-wise through a function, a
// transposed update, a loop over a hyperparameter count and a norm of a matrix.
optim::optimizer! {
    pub Orthogonalised {
        hyper { lr = 0.1, steps = 2, scale = (1.5, -0.5, 0.25) }
        state { momentum = 0 }
        step {
            momentum = lerp(momentum, grad, 0.1);
            let (a, b, c) = scale;
            let mut x = momentum / max(norm(transpose(momentum)), 1e-7);
            for _ in 0..steps {
                let gram = matmul(x, transpose(x));
                x = a * x + matmul(b * gram + c * matmul(gram, gram), x);
            }
            param -= lr * sqrt(abs(matmul(matmul(x, transpose(x)), momentum))) * sign(x) + 0.01 * grad;
        }
    }
}

fn main() {
    let w = optim::Param::new(ndarray::Array2::<f64>::eye(3).into_dyn());
    let mut opt = Orthogonalised::optimizer(vec![w.clone()], Orthogonalised::hyper()).unwrap();
    w.set_grad(ndarray::Array2::from_elem((3, 3), 0.5).into_dyn());
    opt.step().unwrap();
    assert!(w.value().iter().all(|v| v.is_finite()));
}
