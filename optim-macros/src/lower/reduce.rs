//! Reductions over the tensor and means over rows and columns: memory passes and their stages.

use quote::{ToTokens, quote};

use super::*;
use crate::ir;
use crate::symbol::*;

impl Lowerer<'_> {
    pub(super) fn assigned_stage(&mut self, variable: &str, value: &Value) -> usize {
        let stage = value.stage.max(self.branch_stage());
        let slot = self.var_stages.entry(variable.to_owned()).or_default();
        *slot = (*slot).max(stage);
        stage
    }

    pub(super) fn branch_stage(&self) -> usize {
        self.branch_stages.iter().copied().max().unwrap_or(0)
    }

    pub(super) fn reduction(&mut self, name: &str, value: Value, at: &impl ToTokens) -> Option<Value> {
        if value.place.factored() {
            self.errors.error(
                at,
                format!("`{name}` reduces an element-wise value over the tensor; a row or column value reduces with `row_mean`"),
            );
            return None;
        }
        if value.place == Place::Scalar {
            self.errors.error(
                at,
                format!("`{name}` reduces an element-wise value over the tensor; this is already one number"),
            );
            return None;
        }
        self.reduction_allowed(name, at)?;
        let kind = if name == "amax" { ir::ReduceKind::Max } else { ir::ReduceKind::Sum };
        let (pass, total) = self.accumulated(name == "norm", kind, ir::Scope::Tensor, value, at);
        let tokens = match name {
            "mean" => quote!((#total / (#NUMEL as f64))),
            "norm" => quote!(<f64 as #RT::Element>::sqrt(#total)),
            _ => total,
        };
        // one number per tensor: the group's tensors see different values
        self.seen_varying = true;
        Some(Value { stage: pass, ..Value::scalar(Ty::Float, tokens) })
    }

    /// A reduction accumulated by a memory pass (`square`: of the value's square); returns the
    /// pass and the tokens that read the result.
    fn accumulated(
        &mut self,
        square: bool,
        kind: ir::ReduceKind,
        scope: ir::Scope,
        value: Value,
        at: &impl ToTokens,
    ) -> (usize, proc_macro2::TokenStream) {
        let pass = value.stage.max(self.branch_stage()) + 1;
        let index = self.reductions.len();
        let argument = value.tokens;
        let argument = if square { quote!((#argument * #argument)) } else { argument };
        self.reductions.push(ir::Reduction { pass, kind, scope });
        self.reduction_spans.push(syn::spanned::Spanned::span(&at.to_token_stream()));
        self.last_pass = self.last_pass.max(pass);
        let target = ir::Target::Tensor(index);
        self.frame().elem.push(ir::ElemStmt::Accumulate { pass, target, kind, value: argument });
        self.seen_stage = self.seen_stage.max(pass);
        (pass, quote!(#REDUCTIONS.get(#index).copied().unwrap_or_default()))
    }

    /// `group_sum(x)`, `group_sum_f32(x)`, `group_norm(x)`, `group_amax(x)`: one number for the
    /// whole param group. Of an element-wise value, every stepping tensor's sum (or maximum)
    /// accumulated in a memory pass, then combined over the group's tensors in parameter order;
    /// of a per-tensor number (`group_sum(numel)`), that number of every stepping tensor,
    /// combined in the same order once its stage is reached. `group_sum_f32` keeps the running
    /// sum in float32, rounding after each tensor's term, as a `torch.tensor([0.0])`
    /// accumulator does (D-Adaptation).
    pub(super) fn group_reduction(&mut self, name: &str, value: Value, at: &impl ToTokens) -> Option<Value> {
        if value.place.factored() {
            self.errors.error(at, format!("`{name}` reduces element-wise values or per-tensor numbers; reduce a row or column value with `row_mean` first"));
            return None;
        }
        let kind = if name == "group_amax" { ir::ReduceKind::Max } else { ir::ReduceKind::Sum };
        let f32_accumulator = name == "group_sum_f32";
        let square = name == "group_norm";
        let (pass, total) = if value.place == Place::Elem {
            self.reduction_allowed(name, at)?;
            let scope = ir::Scope::Group { f32_accumulator, slot: None };
            self.accumulated(square, kind, scope, value, at)
        } else {
            // a per-tensor number: its prologue slot is read once its stage is done, then folded
            let pass = value.stage.max(self.branch_stage()) + 1;
            let tokens = value.tokens;
            let tokens = if square { quote!((#tokens * #tokens)) } else { tokens };
            let slot = self.slot_index(tokens);
            let index = self.reductions.len();
            self.reductions.push(ir::Reduction {
                pass,
                kind,
                scope: ir::Scope::Group { f32_accumulator, slot: Some(slot) },
            });
            self.reduction_spans.push(syn::spanned::Spanned::span(&at.to_token_stream()));
            self.last_pass = self.last_pass.max(pass);
            self.seen_stage = self.seen_stage.max(pass);
            (pass, quote!(#REDUCTIONS.get(#index).copied().unwrap_or_default()))
        };
        let tokens = if square { quote!(<f64 as #RT::Element>::sqrt(#total)) } else { total };
        Some(Value { stage: pass, varying: false, ..Value::scalar(Ty::Float, tokens) })
    }

    /// A memory pass cannot start under an element-wise condition or inside a value block.
    fn reduction_allowed(&mut self, name: &str, at: &impl ToTokens) -> Option<()> {
        if self.no_reduction_depth == 0 {
            return Some(());
        }
        self.errors.error(
            at,
            format!(
                "`{name}` cannot sit under an element-wise condition or inside a value block; bind it with `let` first"
            ),
        );
        None
    }

    /// `row_mean(x)` / `col_mean(x)`: PyTorch's `x.mean(dim=-1 / -2, keepdim=True)`. Of an
    /// element-wise value, a sum accumulated in a memory pass; of a row value, the mean over
    /// each matrix's rows, computed between passes.
    pub(super) fn axis_mean(&mut self, row: bool, value: Value, at: &impl ToTokens) -> Option<Value> {
        let name = if row { "row_mean" } else { "col_mean" };
        match (value.place, row) {
            (Place::Elem, _) => {
                self.reduction_allowed(name, at)?;
                let pass = value.stage.max(self.branch_stage()) + 1;
                self.last_pass = self.last_pass.max(pass);
                let (target, tokens) = if row {
                    let m = self.accumulators.0;
                    self.accumulators.0 += 1;
                    (ir::Target::Rows(m), quote!((#FACTOR_SUMS[#m * #ALL_ROWS + #AXIS_INDEX] / (#COLS as f64))))
                } else {
                    let m = self.accumulators.1;
                    self.accumulators.1 += 1;
                    (
                        ir::Target::Cols(m),
                        quote!((#FACTOR_SUMS[#ROW_SUM_COUNT * #ALL_ROWS + #m * #ALL_COLS + #AXIS_INDEX] / (#ROWS as f64))),
                    )
                };
                let kind = ir::ReduceKind::Sum;
                self.frame().elem.push(ir::ElemStmt::Accumulate { pass, target, kind, value: value.tokens });
                self.seen_stage = self.seen_stage.max(pass);
                let place = if row { Place::Row } else { Place::Col };
                Some(Value { place, stage: pass, ..Value::scalar(Ty::Float, tokens) })
            }
            (Place::Row, true) => {
                let index = self.row_temps.len();
                let key = format!("row_mean {}", value.tokens);
                let (path, generation) = (self.frame().path.clone(), self.generation);
                self.row_temps.push(Hoisted { key, path, generation, index });
                let tokens = value.tokens;
                let code = quote! {
                    for #MATRIX in 0..#SLICES {
                        let mut #RUNNING_SUM = 0.0f64;
                        for #MATRIX_ROW in 0..#ROWS {
                            let #AXIS_INDEX = #MATRIX * #ROWS + #MATRIX_ROW;
                            #RUNNING_SUM += #tokens;
                        }
                        for #MATRIX_ROW in 0..#ROWS {
                            #TEMPS[#index * #ALL_ROWS + #MATRIX * #ROWS + #MATRIX_ROW] = #RUNNING_SUM / (#ROWS as f64);
                        }
                    }
                    #WROTE_TEMPS = true;
                };
                let stage = value.stage.max(self.branch_stage());
                self.frame().factored.push((stage, code));
                let read = self.temp_read(Place::Row, index);
                self.held.insert(read.to_string(), (Place::Row, Held::Temp(index)));
                Some(Value { place: Place::Row, stage, ..Value::scalar(Ty::Float, read) })
            }
            (Place::Scalar, _) => {
                self.errors.error(at, format!("`{name}` averages over an axis; this is already one number"));
                None
            }
            _ => {
                let hint = if row {
                    "`row_mean` takes an element-wise or a row value"
                } else {
                    "`col_mean` takes an element-wise value"
                };
                self.errors.error(at, format!("`{name}` cannot reduce this value: {hint}"));
                None
            }
        }
    }
}
