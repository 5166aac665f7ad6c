//! Expand tests: a spec in, the generated code parsed back and inspected.

use quote::{ToTokens, quote};
use syn::visit::Visit;

use crate::expand::optimizer;

fn generate(spec: proc_macro2::TokenStream) -> syn::File {
    syn::parse2(optimizer(spec)).expect("generated code parses as a Rust file")
}

fn adam() -> syn::File {
    generate(quote! {
        pub Adam {
            hyper { lr = 1e-3 in 0.0.., betas = (0.9, 0.999) in 0.0..1.0, eps = 1e-8, weight_decay = 0.0,
                    amsgrad = false, maximize = false }
            state { exp_avg = 0, exp_avg_sq = 0, max_exp_avg_sq = 0 if amsgrad }
            step {
                let (b1, b2) = betas;
                let g = if maximize { -grad } else { grad };
                let g = if weight_decay != 0 { g + weight_decay * param } else { g };
                exp_avg = lerp(exp_avg, g, 1 - b1);
                exp_avg_sq = b2 * exp_avg_sq + (1 - b2) * g * g;
                let v = if amsgrad { max_exp_avg_sq = max(max_exp_avg_sq, exp_avg_sq); max_exp_avg_sq } else { exp_avg_sq };
                param -= lr / (1 - pow(b1, step)) * exp_avg / (sqrt(v) / sqrt(1 - pow(b2, step)) + eps);
            }
        }
    })
}

#[derive(Default)]
struct Find<'a> {
    name: &'a str,
    found: Option<syn::ItemFn>,
    impl_fn: Option<syn::ImplItemFn>,
}

impl<'ast> Visit<'ast> for Find<'_> {
    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if f.sig.ident == self.name {
            self.found = Some(f.clone());
        }
        syn::visit::visit_item_fn(self, f);
    }
    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if f.sig.ident == self.name {
            self.impl_fn = Some(f.clone());
        }
        syn::visit::visit_impl_item_fn(self, f);
    }
}

fn item_fn(file: &syn::File, name: &str) -> String {
    let mut find = Find { name, ..Find::default() };
    find.visit_file(file);
    find.found.map(|f| f.to_token_stream().to_string()).unwrap_or_default()
}

fn impl_fn(file: &syn::File, name: &str) -> String {
    let mut find = Find { name, ..Find::default() };
    find.visit_file(file);
    find.impl_fn.map(|f| f.to_token_stream().to_string()).unwrap_or_default()
}

#[derive(Default)]
struct Loops {
    count: usize,
    bodies: Vec<String>,
}

impl<'ast> Visit<'ast> for Loops {
    fn visit_expr_for_loop(&mut self, l: &'ast syn::ExprForLoop) {
        self.count += 1;
        self.bodies.push(l.body.to_token_stream().to_string());
        syn::visit::visit_expr_for_loop(self, l);
    }
}

fn loops(file: &syn::File) -> Loops {
    let mut loops = Loops::default();
    loops.visit_file(file);
    loops
}

#[test]
fn adam_is_one_loop_with_every_scalar_hoisted() {
    let file = adam();
    let loops = loops(&file);
    assert_eq!(loops.count, 1, "one fused pass over memory");
    let body = &loops.bodies[0];
    for scalar_work in ["powf", "__h", "__step", "f64", "from_f64"] {
        assert!(!body.contains(scalar_work), "`{scalar_work}` inside the element loop:\n{body}");
    }
    let prepare = impl_fn(&file, "prepare_stage");
    assert_eq!(prepare.matches("powf").count(), 2, "b1^t and b2^t once per tensor:\n{prepare}");
    assert!(prepare.contains("__slots ["), "hoisted values are handed to the loop");
}

#[test]
fn element_wise_exp_ln_and_pow_take_the_vectorisable_forms_and_scalar_ones_libm() {
    let file = generate(quote! {
        pub Smooth {
            hyper { lr = 1e-3, power = 0.5 }
            state { acc = 0 }
            step {
                acc += grad * grad;
                param -= lr * pow(0.9, step) * exp(-abs(grad)) * ln(1 + acc) * pow(acc, power);
            }
        }
    });
    let body = &loops(&file).bodies[0];
    for lanes in ["exp_lanes", "ln_lanes", "pow_lanes"] {
        assert!(body.contains(lanes), "`{lanes}` in the element loop:\n{body}");
    }
    assert!(!body.contains("powf") && !body.contains(":: exp ("), "no libm call per element:\n{body}");
    let prepare = impl_fn(&file, "prepare_stage");
    assert!(prepare.contains("powf") && !prepare.contains("pow_lanes"), "0.9^t once per tensor, by libm:\n{prepare}");
}

#[test]
fn flags_become_mask_bits_that_select_specialised_loops() {
    let file = adam();
    let run = impl_fn(&file, "run");
    // amsgrad (also max_exp_avg_sq's presence), maximize and `weight_decay != 0`: 3 bits, 8 loops
    assert_eq!(run.matches("__loop :: < __T ,").count(), 8, "{run}");
    let body = &loops(&file).bodies[0];
    assert!(body.contains("__mask >>"), "branches test the constant mask");
}

#[test]
fn absent_state_is_neither_loaded_nor_stored_when_its_bit_is_clear() {
    let file = adam();
    let body = &loops(&file).bodies[0];
    // max_exp_avg_sq is state 2: its load and store are guarded by its presence bit
    assert!(body.contains("let mut __st2 : __T = if ((__mask >>"), "{body}");
    assert!(body.contains("if ((__mask >>") && body.contains("__s2 [__i] = __st2"), "{body}");
}

#[test]
fn scalar_state_is_updated_in_the_prologue_only() {
    let file = generate(quote! {
        pub Counted {
            hyper { lr = 0.1 }
            state { scalar count = 0 }
            step { count += 1; param -= lr / count * grad; }
        }
    });
    let prepare = impl_fn(&file, "prepare_stage");
    assert!(prepare.contains("__ss0 = (__ss0 + 1f64)"), "{prepare}");
    let body = &loops(&file).bodies[0];
    assert!(!body.contains("__ss0"), "scalar state touched per element:\n{body}");
    assert!(item_fn(&file, "__loop").contains("from_f64 (__slots [0"));
}

#[test]
fn grad_is_not_loaded_when_the_rule_never_reads_it() {
    let file = generate(quote! {
        pub Shrink {
            hyper { factor = 0.5 }
            step { param *= factor; }
        }
    });
    assert!(!loops(&file).bodies[0].contains("__grad"));
}

#[test]
fn mistakes_expand_to_compile_errors_and_a_stub_type() {
    let out = optimizer(quote! {
        pub Broken {
            hyper { lr = 0.1 }
            step { grad = 1; param -= lr * gard; }
        }
    })
    .to_string();
    assert_eq!(out.matches("compile_error").count(), 2, "{out}");
    assert!(out.contains("pub struct Broken"), "stub keeps later uses of the type quiet: {out}");
}

#[test]
fn a_reduction_adds_one_read_only_pass_before_the_update() {
    let file = generate(quote! {
        pub Normalized {
            hyper { lr = 0.1 }
            state { m = 0 }
            step {
                m = 0.9 * m + grad;
                let scale = norm(m);
                param -= lr * m / scale;
            }
        }
    });
    let loops = loops(&file);
    // the update loop; the reduction's blocks, each a value loop and a fold into the lanes (rows
    // of the block, lane by lane); and the remainder, accumulating lane by lane
    assert_eq!(loops.count, 6, "{:?}", loops.bodies);
    let reduce = item_fn(&file, "__reduce1");
    assert!(reduce.contains("__bvx0 = (__st0 * __st0) ; __bv0 [__i] = __bvx0 ;"), "{reduce}");
    assert!(
        reduce.contains("__acc0 [__l] += < __T as __rt :: Element > :: to_f64 (__bv0 [__j * 32usize + __l])"),
        "{reduce}"
    );
    assert!(reduce.contains("__acc0 [__l] +="), "{reduce}");
    assert!(!reduce.contains("__s0 [__i] ="), "a reduction pass never stores:\n{reduce}");
    assert!(!reduce.contains("__param [__i] ="), "{reduce}");
    let update = item_fn(&file, "__loop");
    assert!(!update.contains("__acc0"), "the update pass does not accumulate:\n{update}");
    assert!(file.to_token_stream().to_string().contains("const PASSES : usize = 2usize"));
}

#[test]
fn a_block_folds_only_the_sums_a_branch_of_the_tensor_can_reach() {
    let file = generate(quote! {
        pub EitherNorm {
            hyper { lr = 0.1 }
            state { row r = 0 }
            step {
                // per tensor, one of the two sums is dead: its block values stay zero
                let of_param = if ndim >= 2 { norm(param) } else { 0 };
                let of_grad = if ndim < 2 { norm(grad) } else { 0 };
                let scale = of_param + of_grad;
                r = row_mean(grad * grad);
                param -= lr * grad / (scale + r);
            }
        }
    });
    let reduce = item_fn(&file, "__reduce1");
    let live = |acc: &str| {
        let fold = reduce.find(&format!("{acc} [__l] +=")).unwrap_or_else(|| panic!("{acc} folded:\n{reduce}"));
        let guard = reduce[..fold].rfind("if false ||").expect("a guarded fold");
        reduce[guard..fold].to_string()
    };
    // each tensor sum's fold sits under its own branch's test (`ndim >= 2` and `ndim < 2` are
    // mask bits 0 and 1); the row sum's is unconditional
    assert!(live("__acc0").contains("if false || (true && ((__mask >> 0) & 1 == 1))"), "{reduce}");
    assert!(live("__acc1").contains("if false || (true && ((__mask >> 1) & 1 == 1))"), "{reduce}");
    assert!(live("__rl0").starts_with("if false || (true) {"), "{reduce}");
}

#[test]
fn a_block_value_under_a_branch_is_a_select_stored_once() {
    let file = generate(quote! {
        pub EitherNorm {
            hyper { lr = 0.1 }
            step {
                let of_param = if ndim >= 2 { norm(param) } else { 0 };
                param -= lr * grad / (of_param + 1);
            }
        }
    });
    let reduce = item_fn(&file, "__reduce1");
    // the branch assigns the element's local; the block array is written after the branch,
    // whatever the mask (a store under the mask was a masked store, slow on AMD's cores)
    assert!(reduce.contains("if ((__mask >> 0) & 1 == 1) { __bvx0 = (__pv * __pv) ;"), "{reduce}");
    assert!(reduce.contains("} __bv0 [__i] = __bvx0 ;"), "{reduce}");
    assert!(!reduce.contains("__bv0 [__i] = (__pv"), "{reduce}");
}

#[test]
fn a_condition_on_hyperparameters_and_shape_is_one_bit_wherever_written() {
    let file = generate(quote! {
        pub Split {
            hyper { lr = 0.1, flip = false }
            state { row r = 0 if ndim >= 2, col c = 0 if ndim >= 2, s = 0 if ndim < 2 }
            step {
                let g = if flip { -grad } else { grad };
                if ndim >= 2 {
                    r = row_mean(g * g);
                    c = col_mean(g * g);
                } else {
                    s = g * g;
                }
                let v = if ndim >= 2 { r * c } else { s };
                param -= lr * g / (sqrt(v) + 1);
            }
        }
    });
    let prepare = impl_fn(&file, "prepare_stage");
    let bits = |condition: &str| prepare.matches(&format!("__mask |= ({condition} as __rt :: Mask)")).count();
    // the states' presence and the branches share the bits of `ndim >= 2` and `ndim < 2`
    assert_eq!(bits("((__ndim as f64) >= 2f64)"), 1, "{prepare}");
    assert_eq!(bits("((__ndim as f64) < 2f64)"), 1, "{prepare}");
    assert_eq!(bits("__h . flip"), 1, "{prepare}");
    assert_eq!(prepare.matches("__mask |=").count(), 3, "{prepare}");
}

#[test]
fn a_factored_pass_sums_rows_in_lanes_and_columns_by_block() {
    let file = generate(quote! {
        pub Centre {
            hyper { lr = 1.0 }
            state { row rows = 0, col cols = 0 }
            step {
                rows = row_mean(grad);
                cols = col_mean(grad * 2);
                param -= lr * (rows + cols + row_mean(rows));
            }
        }
    });
    let reduce = item_fn(&file, "__reduce1");
    // in a block: values into block arrays; row sums into the row's lanes, columns by slice
    assert!(reduce.contains("__brw0 [__i] ="), "{reduce}");
    assert!(reduce.contains("__bcl0 [__i] ="), "{reduce}");
    assert!(reduce.contains("__rl0 [__l] +="), "{reduce}");
    assert!(reduce.contains("__cols [__l] +="), "{reduce}");
    // no element adds into the row's sum directly: one add per row, of its lanes
    assert!(!reduce.contains("__facc [0usize * __BR + __row] +="), "{reduce}");
}

#[test]
fn with_many_flags_loops_are_specialised_on_presence_then_the_first_flags() {
    let file = generate(quote! {
        pub Flags {
            hyper { lr = 1.0, a = false, b = false, c = false, d = false, e = false, keep = false }
            state { m = 0, v = 0 if keep }
            step {
                let g = if a { -grad } else { grad };
                let g = if b { g * 2 } else { g };
                let g = if c { g * 3 } else { g };
                let g = if d { g * 4 } else { g };
                let g = if e { g * 5 } else { g };
                m = m + g;
                if keep { v = v + g * g; }
                param -= lr * m;
            }
        }
    });
    let run = impl_fn(&file, "run");
    // six bits, too many for every configuration: the loops are specialised on five of them,
    // `keep` (a state's presence, bit 0) and the first flags `a` to `d` (bits 1 to 4), and read
    // `e` (bit 5) at run time
    assert_eq!(run.matches("__loop :: < __T ,").count(), 32, "{run}");
    assert!(run.contains("match __prep . mask & 31"), "{run}");
    assert!(run.contains("true >"), "the loops read the run-time mask: {run}");
}

#[test]
fn column_values_are_read_through_views_cut_to_the_segment() {
    let file = generate(quote! {
        pub ColumnScaled {
            hyper { lr = 0.1 }
            state { col c = 0 }
            step {
                c = col_mean(grad * grad);
                let scaled = grad / sqrt(c + 1);
                param -= lr * scaled / (norm(scaled) + 1);
            }
        }
    });
    let (reduce, apply) = (item_fn(&file, "__reduce2"), item_fn(&file, "__loop"));
    for code in [&reduce, &apply] {
        // one view of the column temporary per row segment, read at the element's offset in
        // it: no bounds-checked read per element through the whole buffer
        assert!(code.contains("let __cv0 : & [__T] = __ftemps . get"), "{code}");
        assert!(code.contains("__rt :: at (__cv0 , __ca)"), "{code}");
        assert!(!code.contains("__rt :: at (__ftemps"), "{code}");
    }
    // a reduction pass cuts it again to each block, as a fixed-size array
    assert!(reduce.contains("let __cv0 : & [__T ; 32usize] = match __cv0 . get"), "{reduce}");
}
