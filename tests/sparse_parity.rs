//! Lazy row-sparse updates against `torch.optim.SparseAdam` (`tests/data/sparse-golden.json`, or
//! the file named by `OPTIM_SPARSE_GOLDEN`): params and state after every step.

mod golden;

use ndarray::ArrayD;
use optim::builtins::{Adam, Asgd, SparseAdam};
use optim::{Element, OptimError, Optimizer, Param, RowSparse};
use serde_json::Value;

use golden::{Tally, Worst, hyper_from, numbers, recording, shape, tensor};

fn replay<T: Element>(case: &Value) -> Result<Worst, String> {
    let dtype = case["dtype"].as_str().unwrap_or_default();
    let shape = shape(&case["shape"]);
    let param = Param::new(tensor::<T>(&shape, &case["init"]));
    let hyper = hyper_from(&case["hyper"])?;
    let mut opt = Optimizer::<SparseAdam, T>::new(vec![param.clone()], hyper).map_err(|e| e.to_string())?;
    let mut worst = Worst::default();
    for (t, step) in case["steps"].as_array().ok_or("no steps")?.iter().enumerate() {
        let rows: Vec<usize> = numbers(&step["rows"]).into_iter().map(|r| r as usize).collect();
        let mut value_shape = shape.clone();
        value_shape[0] = rows.len();
        let grad = RowSparse::new(rows, tensor::<T>(&value_shape, &step["values"])).map_err(|e| e.to_string())?;
        param.set_sparse_grad(grad).map_err(|e| e.to_string())?;
        opt.step().map_err(|e| e.to_string())?;
        let ours: Vec<f64> = param.value().iter().map(|v| v.to_f64()).collect();
        worst.compare(dtype, &ours, &numbers(&step["param_after"]), &format!("step {} param", t + 1))?;
        let state = opt.state(0, 0).ok_or("no state")?;
        for key in ["exp_avg", "exp_avg_sq"] {
            let ours: Vec<f64> = state.tensor(key).ok_or(key)?.iter().map(|v| v.to_f64()).collect();
            worst.compare(dtype, &ours, &numbers(&step[key]), &format!("step {} {key}", t + 1))?;
        }
        worst.compare(dtype, &[state.step() as f64], &[step["step"].as_f64().unwrap_or(f64::NAN)], "step count")?;
    }
    Ok(worst)
}

#[test]
fn sparse_adam_matches_torch() {
    let recording = recording("OPTIM_SPARSE_GOLDEN", "sparse-golden.json");
    let cases = recording["cases"].as_array().expect("cases");
    let mut tally = Tally::default();
    for (index, case) in cases.iter().enumerate() {
        let result = if case["dtype"] == "float64" { replay::<f64>(case) } else { replay::<f32>(case) };
        match result {
            Ok(worst) => {
                println!("case {index} {} {}: worst relative error {:.2e}", case["dtype"], case["hyper"], worst.error);
                tally.pass(case["dtype"].as_str().unwrap_or_default(), worst.error);
            }
            Err(e) => tally.fail(format_args!("case {index}"), e),
        }
    }
    let summary = format!("sparse parity: {} cases checked, worst relative error {}", tally.checked, tally.worst());
    println!("{summary}");
    golden::assert_readme_agrees(&summary, &["OPTIM_SPARSE_GOLDEN"]);
    tally.assert_no_failures();
    assert_eq!(cases.len(), 6);
}

#[test]
fn untouched_rows_keep_value_and_state_exactly() {
    let table = Param::new(ArrayD::from_shape_fn(vec![6, 3], |ix| (ix[0] * 3 + ix[1]) as f64 * 0.1));
    let mut opt = Adam::optimizer(vec![table.clone()], Adam::hyper().lr(0.1)).unwrap();
    table.set_sparse_grad(RowSparse::new(vec![1, 2, 4], ArrayD::ones(vec![3, 3])).unwrap()).unwrap();
    opt.step().unwrap();
    let before = table.value();
    let state_before = opt.state(0, 0).unwrap().clone();
    table.set_sparse_grad(RowSparse::new(vec![4], ArrayD::ones(vec![1, 3])).unwrap()).unwrap();
    opt.step().unwrap();
    let after = table.value();
    let state = opt.state(0, 0).unwrap();
    for row in [0, 1, 2, 3, 5] {
        assert_eq!(after.row_of(row), before.row_of(row), "row {row} moved");
        for key in ["exp_avg", "exp_avg_sq"] {
            let (old, new) = (state_before.tensor(key).unwrap(), state.tensor(key).unwrap());
            assert_eq!(new.view().row_of(row), old.view().row_of(row), "state {key} of row {row} changed");
        }
    }
    assert_ne!(after.row_of(4), before.row_of(4));
    assert_eq!(state.step(), 2);
}

/// The lazy update of the covered rows equals a dense update of those rows alone.
#[test]
fn sparse_rows_update_like_dense_rows() {
    let init = ArrayD::from_shape_fn(vec![5, 2], |ix| 1.0 + (ix[0] * 2 + ix[1]) as f32);
    let grad_rows = ndarray::arr2(&[[0.5f32, -1.0], [2.0, 0.25]]).into_dyn();
    let sparse = Param::new(init.clone());
    let mut sparse_opt = Adam::optimizer(vec![sparse.clone()], Adam::hyper().lr(0.05)).unwrap();
    sparse
        .set_sparse_grad(
            RowSparse::new(vec![3, 0], grad_rows.slice(ndarray::s![..;-1, ..]).to_owned().into_dyn()).unwrap(),
        )
        .unwrap();
    sparse_opt.step().unwrap();
    for (row, grad) in [(0usize, [0.5f32, -1.0]), (3, [2.0, 0.25])] {
        let dense = Param::new(init.index_axis(ndarray::Axis(0), row).to_owned().into_dyn());
        let mut dense_opt = Adam::optimizer(vec![dense.clone()], Adam::hyper().lr(0.05)).unwrap();
        dense.set_grad(ndarray::arr1(&grad).into_dyn());
        dense_opt.step().unwrap();
        assert_eq!(sparse.value().index_axis(ndarray::Axis(0), row).to_owned().into_dyn(), dense.value());
    }
}

#[test]
fn dense_only_rule_refuses_sparse_gradient_and_changes_nothing() {
    let table = Param::new(ArrayD::<f64>::ones(vec![3, 2]));
    let mut opt = Asgd::optimizer(vec![table.clone()], Asgd::hyper()).unwrap();
    table.set_sparse_grad(RowSparse::new(vec![1], ArrayD::ones(vec![1, 2])).unwrap()).unwrap();
    let err = opt.step().unwrap_err();
    assert!(matches!(err, OptimError::SparseUnsupported { optimizer: "ASGD", .. }), "{err}");
    assert_eq!(table.value(), ArrayD::<f64>::ones(vec![3, 2]));
    assert!(opt.state(0, 0).is_none());
}

trait RowOf {
    fn row_of(&self, row: usize) -> Vec<f64>;
}
impl<T: Element> RowOf for ndarray::ArrayViewD<'_, T> {
    fn row_of(&self, row: usize) -> Vec<f64> {
        self.index_axis(ndarray::Axis(0), row).iter().map(|v| v.to_f64()).collect()
    }
}
impl<T: Element> RowOf for ArrayD<T> {
    fn row_of(&self, row: usize) -> Vec<f64> {
        self.view().row_of(row)
    }
}
