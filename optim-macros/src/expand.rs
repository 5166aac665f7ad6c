//! Code generation: the hyperparameter struct, the `Rule` impl and its fused kernel.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};

use crate::ast::Axis;
use crate::ast::Spec;
use crate::errors::{Errors, fallback};
use crate::ir::{self, HyperTy};
use crate::lower;

/// Above this many hoisted conditions the loop reads the mask at run time instead of being
/// specialised for each of the 2^n configurations.
const MAX_SPECIALISED_BITS: usize = 5;

/// Expands a spec. `optim_core::optimizer!` passes its `$crate` first, in parentheses, so the
/// generated code finds the runtime through whichever crate the user depends on (the `optim`
/// facade or `optim-core`); without it the runtime is `::optim_core`.
pub fn optimizer(input: TokenStream) -> TokenStream {
    let (krate, spec) = split_crate_path(input);
    let spec: Spec = match syn::parse2(spec) {
        Ok(spec) => spec,
        Err(error) => return fallback(error, None),
    };
    let mut errors = Errors::default();
    let lowered = lower::lower(&spec, &mut errors);
    if let Err(error) = errors.propagate() {
        return fallback(error, Some((&spec.vis, &spec.name)));
    }
    match lowered {
        Some(rule) => generate(&spec, &rule, &krate),
        None => fallback(syn::Error::new(spec.name.span(), "invalid optimizer spec"), Some((&spec.vis, &spec.name))),
    }
}

fn split_crate_path(input: TokenStream) -> (TokenStream, TokenStream) {
    let mut tokens = input.clone().into_iter();
    match tokens.next() {
        Some(proc_macro2::TokenTree::Group(group)) if group.delimiter() == proc_macro2::Delimiter::Parenthesis => {
            (group.stream(), tokens.collect())
        }
        _ => (quote!(::optim_core), input),
    }
}

fn doc_text(attrs: &[syn::Attribute]) -> String {
    attrs
        .iter()
        .filter_map(|attr| match &attr.meta {
            syn::Meta::NameValue(nv) if nv.path.is_ident("doc") => match &nv.value {
                syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(s), .. }) => Some(s.value().trim().to_owned()),
                _ => None,
            },
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn rust_type(ty: &HyperTy) -> TokenStream {
    match ty {
        HyperTy::Float => quote!(f64),
        HyperTy::Int => quote!(i64),
        HyperTy::Bool => quote!(bool),
        HyperTy::Pair => quote!((f64, f64)),
    }
}

fn generated_docs(spec: &Spec, rule: &ir::Rule) -> String {
    let mut doc = String::from("\n\n# Hyperparameters\n\n| name | default | valid | meaning |\n|---|---|---|---|\n");
    for hyper in &rule.hypers {
        let range = hyper.range.as_ref().map(|(_, text)| format!("`{text}`")).unwrap_or_default();
        doc += &format!("| `{}` | `{}` | {} | {} |\n", hyper.name, hyper.default_text, range, doc_text(&hyper.docs));
    }
    if !rule.states.is_empty() || !rule.scalar_states.is_empty() {
        doc += "\n# State\n\n";
    }
    for state in &rule.states {
        let presence = state.presence.as_ref().map(|(_, _, c)| format!(", only `if {c}`")).unwrap_or_default();
        doc += &format!(
            "- `{}`: per element, starts at `{}`{presence}. {}\n",
            state.name,
            state.init_text,
            doc_text(&state.docs)
        );
    }
    for state in &rule.scalar_states {
        doc += &format!(
            "- `{}`: one per parameter, starts at `{}`. {}\n",
            state.name,
            state.init_text,
            doc_text(&state.docs)
        );
    }
    if !spec.requires.is_empty() {
        doc += "\n# Constraints\n\n";
        for require in &spec.requires {
            doc += &format!("- {}\n", require.message.value());
        }
    }
    doc += &format!(
        "\n# Update\n\nRun once per step for each parameter with a gradient; `step` counts from 1.\n\n```text\n{}\n```\n",
        rule.step_text
    );
    doc
}

fn generate(spec: &Spec, rule: &ir::Rule, krate: &TokenStream) -> TokenStream {
    let rt = quote!(__rt);
    let vis = &spec.vis;
    let name = &spec.name;
    let name_str = spec.display_name.as_ref().map(syn::LitStr::value).unwrap_or_else(|| name.to_string());
    let hyper_name = format_ident!("{}Hyper", name);
    let attrs = &spec.attrs;
    let docs = generated_docs(spec, rule);
    let hyper_doc = format!("Hyperparameters of [`{name}`], with PyTorch's defaults; see its docs for the table.");

    let fields = rule.hypers.iter().map(|h| {
        let (field, ty, docs) = (&h.name, rust_type(&h.ty), &h.docs);
        quote!(#(#docs)* pub #field: #ty,)
    });
    let defaults = rule.hypers.iter().map(|h| {
        let (field, default) = (&h.name, &h.default);
        quote!(#field: #default,)
    });
    let setters = rule.hypers.iter().map(|h| {
        let (field, ty) = (&h.name, rust_type(&h.ty));
        let doc = format!("Sets `{field}` (default `{}`).", h.default_text);
        quote! {
            #[doc = #doc]
            #[must_use]
            pub fn #field(mut self, value: #ty) -> Self {
                self.#field = value;
                self
            }
        }
    });
    let names: Vec<String> = rule.hypers.iter().map(|h| h.name.to_string()).collect();
    let getters = rule.hypers.iter().map(|h| {
        let (field, key) = (&h.name, h.name.to_string());
        match h.ty {
            HyperTy::Float => quote!(#key => ::core::option::Option::Some(#rt::HyperValue::Float(self.#field)),),
            HyperTy::Int => quote!(#key => ::core::option::Option::Some(#rt::HyperValue::Int(self.#field)),),
            HyperTy::Bool => quote!(#key => ::core::option::Option::Some(#rt::HyperValue::Bool(self.#field)),),
            HyperTy::Pair => {
                quote!(#key => ::core::option::Option::Some(#rt::HyperValue::Pair(self.#field.0, self.#field.1)),)
            }
        }
    });
    let set_arms = rule.hypers.iter().map(|h| {
        let (field, key) = (&h.name, h.name.to_string());
        let (accept, expected) = match h.ty {
            HyperTy::Float => (
                quote! {
                    (#key, #rt::HyperValue::Float(v)) => self.#field = v,
                    (#key, #rt::HyperValue::Int(v)) => self.#field = v as f64,
                },
                "a float",
            ),
            HyperTy::Int => (
                quote! {
                    (#key, #rt::HyperValue::Int(v)) => self.#field = v,
                    (#key, #rt::HyperValue::Float(v)) if v.fract() == 0.0 && v.abs() < 9.0e15 => self.#field = v as i64,
                },
                "an integer",
            ),
            HyperTy::Bool => (quote!((#key, #rt::HyperValue::Bool(v)) => self.#field = v,), "a bool"),
            HyperTy::Pair => (quote!((#key, #rt::HyperValue::Pair(a, b)) => self.#field = (a, b),), "a float pair"),
        };
        quote! {
            #accept
            (#key, other) => return ::core::result::Result::Err(#rt::OptimError::HyperType {
                optimizer: #name_str, name: #key, expected: #expected, got: ::std::string::ToString::to_string(&other),
            }),
        }
    });
    let known = names.join(", ");
    let range_checks = rule.hypers.iter().filter_map(|h| {
        let (check, text) = h.range.as_ref()?;
        let (field, key) = (&h.name, h.name.to_string());
        Some(quote! {
            if !(#check) {
                return ::core::result::Result::Err(#rt::OptimError::InvalidHyper {
                    optimizer: #name_str, name: #key, value: ::std::format!("{:?}", __h.#field), constraint: #text,
                });
            }
        })
    });
    let require_checks = rule.requires.iter().map(|r| {
        let (condition, message) = (&r.condition, &r.message);
        quote! {
            if !(#condition) {
                return ::core::result::Result::Err(#rt::OptimError::InvalidHyperCombination { optimizer: #name_str, message: #message });
            }
        }
    });

    let state_decls = rule.states.iter().map(|s| {
        let key = s.name.to_string();
        let condition = match &s.presence {
            Some((_, _, text)) => quote!(::core::option::Option::Some(#text)),
            None => quote!(::core::option::Option::None),
        };
        let shape = match s.axis {
            Axis::Full => quote!(#rt::StateShape::Full),
            Axis::Rows => quote!(#rt::StateShape::Rows),
            Axis::Cols => quote!(#rt::StateShape::Cols),
        };
        quote!(#rt::StateDecl { name: #key, condition: #condition, shape: #shape },)
    });
    let scalar_names = rule.scalar_states.iter().map(|s| s.name.to_string());
    let presence_arms = rule.states.iter().enumerate().map(|(i, s)| {
        let test = match &s.presence {
            Some((_, tokens, _)) => tokens.clone(),
            None => quote!(true),
        };
        quote!(#i => #test,)
    });
    let init_arms = rule.states.iter().enumerate().map(|(i, s)| {
        let init = &s.init;
        quote!(#i => #init,)
    });
    let scalar_init_arms = rule.scalar_states.iter().enumerate().map(|(i, s)| {
        let init = &s.init;
        quote!(#i => #init,)
    });

    let prepare = prepare_fn(rule);
    let apply = apply_fn(rule);
    let reduce = reduce_fn(rule);
    let passes = rule.passes;
    let reductions = rule.reductions.iter().map(|(pass, kind)| {
        let kind = match kind {
            ir::ReduceKind::Sum => quote!(#rt::ReduceKind::Sum),
            ir::ReduceKind::Max => quote!(#rt::ReduceKind::Max),
        };
        quote!(#rt::Reduction { pass: #pass, kind: #kind },)
    });
    let slots = rule.slots;
    // a lazy row update cannot see the whole tensor a reduction needs
    let sparse = !spec.dense_only && rule.passes == 1 && !rule.factored();
    let factored = factored_items(rule);

    quote! {
        #(#attrs)*
        #[doc = #docs]
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
        #vis struct #name;

        #[doc = #hyper_doc]
        #[derive(Debug, Clone, Copy, PartialEq)]
        #vis struct #hyper_name {
            #(#fields)*
        }

        // The runtime is reached through one alias, so the code works through any re-export.
        const _: () = {
        use #krate::__private as __rt;

        #[automatically_derived]
        impl ::core::default::Default for #hyper_name {
            fn default() -> Self {
                Self { #(#defaults)* }
            }
        }

        impl #hyper_name {
            #(#setters)*
        }

        impl #name {
            /// The default hyperparameters, to adjust with the builder methods.
            #[must_use]
            pub fn hyper() -> #hyper_name {
                ::core::default::Default::default()
            }

            /// An optimizer with this rule over one group of `params`.
            ///
            /// # Errors
            /// When a hyperparameter is out of range.
            pub fn optimizer<T: #rt::Element>(
                params: ::std::vec::Vec<#rt::Param<T>>,
                hyper: #hyper_name,
            ) -> ::core::result::Result<#rt::Optimizer<#name, T>, #rt::OptimError> {
                #rt::Optimizer::new(params, hyper)
            }
        }

        #[automatically_derived]
        impl #rt::HyperSet for #hyper_name {
            fn names(&self) -> &'static [&'static str] {
                &[#(#names),*]
            }

            fn get(&self, name: &str) -> ::core::option::Option<#rt::HyperValue> {
                match name {
                    #(#getters)*
                    _ => ::core::option::Option::None,
                }
            }

            fn set(&mut self, name: &str, value: #rt::HyperValue) -> ::core::result::Result<(), #rt::OptimError> {
                match (name, value) {
                    #(#set_arms)*
                    _ => return ::core::result::Result::Err(#rt::OptimError::UnknownHyper {
                        optimizer: #name_str, name: ::std::string::ToString::to_string(name), known: ::std::string::ToString::to_string(#known),
                    }),
                }
                #[allow(unreachable_code)]
                ::core::result::Result::Ok(())
            }

            #[allow(clippy::all, unused_parens, unused_variables)]
            fn validate(&self) -> ::core::result::Result<(), #rt::OptimError> {
                let __h = self;
                #(#range_checks)*
                #(#require_checks)*
                ::core::result::Result::Ok(())
            }
        }

        #[automatically_derived]
        #[allow(clippy::all, unused_parens, unused_variables, unused_mut, unused_assignments, non_snake_case)]
        impl #rt::Rule for #name {
            type Hyper = #hyper_name;
            type Prep = #rt::Prepared<#slots>;
            const NAME: &'static str = #name_str;
            const STATES: &'static [#rt::StateDecl] = &[#(#state_decls)*];
            const SCALAR_STATES: &'static [&'static str] = &[#(#scalar_names),*];
            const SPARSE: bool = #sparse;
            const PASSES: usize = #passes;
            const REDUCTIONS: &'static [#rt::Reduction] = &[#(#reductions)*];

            fn state_present(__h: &Self::Hyper, __shape: &[usize], index: usize) -> bool {
                let __numel: usize = __shape.iter().product();
                let __ndim: usize = __shape.len();
                match index {
                    #(#presence_arms)*
                    _ => false,
                }
            }

            fn state_init(__h: &Self::Hyper, index: usize) -> f64 {
                match index {
                    #(#init_arms)*
                    _ => 0.0,
                }
            }

            fn scalar_state_init(__h: &Self::Hyper, index: usize) -> f64 {
                match index {
                    #(#scalar_init_arms)*
                    _ => 0.0,
                }
            }

            #factored
            #prepare
            #apply
            #reduce
        }
        };
    }
}

fn prepare_fn(rule: &ir::Rule) -> TokenStream {
    let rt = quote!(__rt);
    let slots = rule.slots;
    let passes = rule.passes;
    let loads = (0..rule.scalar_states.len()).map(|i| {
        let local = format_ident!("__ss{}", i);
        quote!(let mut #local: f64 = __scalar_state.get(#i).copied().unwrap_or_default();)
    });
    let stores = (0..rule.scalar_states.len()).map(|i| {
        let local = format_ident!("__ss{}", i);
        quote!(if let ::core::option::Option::Some(__slot) = __scalar_state.get_mut(#i) { *__slot = #local; })
    });
    let prologue = &rule.prologue;
    quote! {
        fn prepare_stage(
            __h: &Self::Hyper,
            __step: u64,
            __scalar_state: &mut [f64],
            __shape: &[usize],
            __reductions: &[f64],
            __stage: usize,
        ) -> Self::Prep {
            let __numel: usize = __shape.iter().product();
            let __ndim: usize = __shape.len();
            #(#loads)*
            let mut __slots = [0.0f64; #slots];
            let mut __mask: u32 = 0;
            #(#prologue)*
            // every stage recomputes the scalar program from the same inputs; only the last
            // one, which sees every reduction, keeps the new scalar state
            if __stage + 1 >= #passes {
                #(#stores)*
            }
            #rt::Prepared { scalars: __slots, mask: __mask }
        }
    }
}

/// A `match` on the prepared mask that calls `call(mask literal, dynamic, runtime mask)`.
fn mask_dispatch(rule: &ir::Rule, call: impl Fn(TokenStream, bool, TokenStream) -> TokenStream) -> TokenStream {
    if rule.bits <= MAX_SPECIALISED_BITS {
        let arms = (0..(1u32 << rule.bits) - 1).map(|mask| {
            let literal = Literal::u32_unsuffixed(mask);
            let call = call(quote!(#literal), false, quote!(0));
            quote!(#literal => #call,)
        });
        let last = Literal::u32_unsuffixed((1u32 << rule.bits) - 1);
        let last_call = call(quote!(#last), false, quote!(0));
        quote!(match __prep.mask { #(#arms)* _ => #last_call, })
    } else {
        call(quote!(0), true, quote!(__prep.mask))
    }
}

/// The parts of an element loop shared by the update pass and the reduction passes.
struct LoopParts {
    state_slices: Vec<syn::Ident>,
    convert: TokenStream,
    lengths: TokenStream,
    loads: TokenStream,
}

fn presence_test(state: &ir::ElemState) -> TokenStream {
    match &state.presence {
        Some((bit, _, _)) => {
            let bit = Literal::u32_unsuffixed(*bit as u32);
            quote!(((__mask >> #bit) & 1 == 1))
        }
        None => quote!(true),
    }
}

/// The states the element loop walks alongside the parameter (row and column states are
/// read through the factors instead).
fn full_states(rule: &ir::Rule) -> impl Iterator<Item = (usize, &ir::ElemState)> {
    rule.states.iter().enumerate().filter(|(_, s)| s.axis == Axis::Full)
}

fn loop_parts(rule: &ir::Rule) -> LoopParts {
    let rt = quote!(__rt);
    let state_slices: Vec<_> = (0..rule.states.len()).map(|i| format_ident!("__s{}", i)).collect();
    let convert = (0..rule.slots).map(|i| {
        let local = format_ident!("__c{}", i);
        quote!(let #local: __T = <__T as #rt::Element>::from_f64(__slots[#i]);)
    });
    let lengths = full_states(rule).map(|(i, state)| {
        let (present, slice) = (presence_test(state), &state_slices[i]);
        quote!(if #present { __n = __n.min(#slice.len()); })
    });
    let grad_load = rule.grad_read.then(|| quote!(let __gv: __T = __grad[__i];));
    let state_loads = full_states(rule).filter(|(_, s)| s.read || s.written).map(|(i, state)| {
        let (local, slice) = (format_ident!("__st{}", i), &state_slices[i]);
        match &state.presence {
            Some(_) => {
                let present = presence_test(state);
                quote!(let mut #local: __T = if #present { #slice[__i] } else { <__T as #rt::Element>::ZERO };)
            }
            None => quote!(let mut #local: __T = #slice[__i];),
        }
    });
    let (convert, lengths) = (quote!(#(#convert)*), quote!(#(#lengths)*));
    let loads = quote!(let mut __pv: __T = __param[__i]; #grad_load #(#state_loads)*);
    LoopParts { state_slices, convert, lengths, loads }
}

/// `for __i in 0..__n { body }`, or for a factored rule the same walk split at row ends, with
/// the row index, the column index and the per-row loads in scope.
fn element_walk(rule: &ir::Rule, body: TokenStream) -> TokenStream {
    if !rule.factored() {
        return quote!(for __i in 0..__n { #body });
    }
    let row_loads = rule.row_loads.iter().map(|(ident, read)| quote!(let #ident: __T = #read;));
    quote! {
        let mut __start = 0usize;
        while __start < __n {
            let __flat = __f.offset + __start;
            let __row = __flat / __C;
            let __col0 = __flat - __row * __C;
            let __end = (__start + (__C - __col0)).min(__n);
            let __cbase = ((__row / __R) * __C + __col0).wrapping_sub(__start);
            #(#row_loads)*
            for __i in __start..__end {
                let __cj = __cbase.wrapping_add(__i);
                #body
            }
            __start = __end;
        }
    }
}

/// Locals a factored rule's code reads: the matrix view, buffer layout and factored states.
fn factor_locals(rule: &ir::Rule, in_loop: bool) -> TokenStream {
    if !rule.factored() {
        return TokenStream::new();
    }
    let (temp_rows, acc_rows) = (rule.temps.0, rule.accumulators.0);
    let states = rule.states.iter().enumerate().filter(|(_, s)| s.axis != Axis::Full).map(|(i, _)| {
        let local = format_ident!("__fst{}", i);
        quote!(let #local: &[__T] = __f.states[#i];)
    });
    let loop_locals = in_loop.then(|| quote!(let __ftemps: &[f64] = __f.temps; #(#states)*));
    quote! {
        let (__S, __R, __C) = (__f.slices, __f.rows, __f.cols);
        let (__BR, __BC) = (__S * __R, __S * __C);
        let __TR: usize = #temp_rows;
        let __RA: usize = #acc_rows;
        #loop_locals
    }
}

/// Cuts each walked state slice to the loop's length (`&mut` for the update, `&` for a
/// reduction pass); an absent state becomes an empty slice.
fn reslices(rule: &ir::Rule, state_slices: &[syn::Ident], mutability: TokenStream) -> TokenStream {
    let cuts = full_states(rule).map(|(i, state)| {
        let slice = &state_slices[i];
        match &state.presence {
            Some(_) => {
                let present = presence_test(state);
                quote!(let #slice: &#mutability [__T] = if #present { &#mutability #slice[..__n] } else { &#mutability [] };)
            }
            None => quote!(let #slice: &#mutability [__T] = &#mutability #slice[..__n];),
        }
    });
    quote!(#(#cuts)*)
}

fn apply_fn(rule: &ir::Rule) -> TokenStream {
    let rt = quote!(__rt);
    let slots = rule.slots;
    let factored = rule.factored();
    let LoopParts { state_slices, convert, lengths, loads } = loop_parts(rule);
    let reslices = reslices(rule, &state_slices, quote!(mut));
    let stores = full_states(rule).filter(|(_, s)| s.written).map(|(i, state)| {
        let (local, slice) = (format_ident!("__st{}", i), &state_slices[i]);
        let present = presence_test(state);
        quote!(if #present { #slice[__i] = #local; })
    });
    let param_store = rule.param_written.then(|| quote!(__param[__i] = __pv;));
    let body = ir::render(&rule.body, None);
    let walk = element_walk(rule, quote!(#loads #body #param_store #(#stores)*));
    let locals = factor_locals(rule, true);
    let dispatch = mask_dispatch(
        rule,
        |mask, dynamic, runtime| quote!(__loop::<__T, #mask, #dynamic>(#runtime, &__prep.scalars, __f, __param, __grad, __state)),
    );
    let element_loop = quote! {
        #[inline(always)]
        #[allow(clippy::all, unused_parens, unused_variables, unused_mut, unused_assignments, non_snake_case)]
        fn __loop<__T: #rt::Element, const __M: u32, const __DYN: bool>(
            __m: u32,
            __slots: &[f64; #slots],
            __f: &#rt::Factors<'_, __T>,
            __param: &mut [__T],
            __grad: &[__T],
            __state: &mut [&mut [__T]],
        ) {
            let __mask: u32 = if __DYN { __m } else { __M };
            let [#(#state_slices),*] = __state else { return };
            #convert
            #locals
            let mut __n = __param.len().min(__grad.len());
            #lengths
            let __param = &mut __param[..__n];
            let __grad = &__grad[..__n];
            #reslices
            #walk
        }
        struct __Kernel<'__p, '__f, __U>(&'__p #rt::Prepared<#slots>, &'__p #rt::Factors<'__f, __U>);
        impl<__T: #rt::Element> #rt::Kernel<__T> for __Kernel<'_, '_, __T> {
            #[inline(always)]
            fn run(&self, __param: &mut [__T], __grad: &[__T], __state: &mut [&mut [__T]]) {
                let (__prep, __f) = (self.0, self.1);
                #dispatch
            }
        }
    };
    if !factored {
        return quote! {
            #[inline]
            fn apply_at<__T: #rt::Element>(
                __level: #rt::SimdLevel,
                __prep: &Self::Prep,
                __param: &mut [__T],
                __grad: &[__T],
                __state: &mut [&mut [__T]],
            ) {
                #element_loop
                let __f = #rt::Factors::whole(&[__param.len()]);
                #rt::dispatch(__level, &__Kernel(__prep, &__f), __param, __grad, __state)
            }
        };
    }
    quote! {
        /// Without factors the tensor counts as one row; call [`Rule::apply_factored`] instead.
        #[inline]
        fn apply_at<__T: #rt::Element>(
            __level: #rt::SimdLevel,
            __prep: &Self::Prep,
            __param: &mut [__T],
            __grad: &[__T],
            __state: &mut [&mut [__T]],
        ) {
            let __f = #rt::Factors::whole(&[__param.len()]);
            <Self as #rt::Rule>::apply_factored(__level, __prep, &__f, __param, __grad, __state)
        }

        #[inline]
        fn apply_factored<__T: #rt::Element>(
            __level: #rt::SimdLevel,
            __prep: &Self::Prep,
            __f: &#rt::Factors<'_, __T>,
            __param: &mut [__T],
            __grad: &[__T],
            __state: &mut [&mut [__T]],
        ) {
            #element_loop
            #rt::dispatch(__level, &__Kernel(__prep, __f), __param, __grad, __state)
        }
    }
}

/// Lanes per reduction accumulator: independent partial sums let the loop vectorise while the
/// combination order stays fixed.
const LANES: usize = 8;

fn reduce_fn(rule: &ir::Rule) -> TokenStream {
    if rule.passes <= 1 {
        return TokenStream::new();
    }
    let rt = quote!(__rt);
    let slots = rule.slots;
    let factored = rule.factored();
    let LoopParts { state_slices, convert, lengths, loads } = loop_parts(rule);
    let reslices = reslices(rule, &state_slices, TokenStream::new());
    let locals = factor_locals(rule, true);
    let passes = 1..rule.passes;
    let loops = passes.clone().map(|pass| {
        let name = format_ident!("__reduce{}", pass);
        let body = ir::render(&rule.body, Some(pass));
        let mine: Vec<(usize, ir::ReduceKind)> = rule
            .reductions
            .iter()
            .enumerate()
            .filter(|(_, (p, _))| *p == pass)
            .map(|(r, (_, kind))| (r, *kind))
            .collect();
        let inits = mine.iter().map(|(r, kind)| {
            let acc = format_ident!("__acc{}", r);
            let identity = match kind {
                ir::ReduceKind::Sum => quote!(0.0f64),
                ir::ReduceKind::Max => quote!(f64::NEG_INFINITY),
            };
            quote!(let mut #acc: [f64; #LANES] = [#identity; #LANES];)
        });
        let folds = mine.iter().map(|(r, kind)| {
            let acc = format_ident!("__acc{}", r);
            let fold = match kind {
                ir::ReduceKind::Sum => quote!(#acc.iter().fold(0.0f64, |a, b| a + b)),
                ir::ReduceKind::Max => quote!(#acc.iter().fold(f64::NEG_INFINITY, |a, b| a.max(*b))),
            };
            quote!(if let ::core::option::Option::Some(__o) = __out.get_mut(#r) { *__o = #fold; })
        });
        let walk = if factored {
            element_walk(rule, quote!(let __l = __i % #LANES; #loads #body))
        } else {
            quote! {
                let __blocks = __n / #LANES;
                for __b in 0..__blocks {
                    for __l in 0..#LANES {
                        let __i = __b * #LANES + __l;
                        #loads
                        #body
                    }
                }
                for __i in __blocks * #LANES..__n {
                    let __l = __i - __blocks * #LANES;
                    #loads
                    #body
                }
            }
        };
        quote! {
            #[inline(always)]
            #[allow(clippy::all, unused_parens, unused_variables, unused_mut, unused_assignments, non_snake_case)]
            fn #name<__T: #rt::Element, const __M: u32, const __DYN: bool>(
                __m: u32,
                __slots: &[f64; #slots],
                __f: &#rt::Factors<'_, __T>,
                __facc: &mut [f64],
                __param: &[__T],
                __grad: &[__T],
                __state: &[&[__T]],
                __out: &mut [f64],
            ) {
                let __mask: u32 = if __DYN { __m } else { __M };
                let [#(#state_slices),*] = __state else { return };
                #convert
                #locals
                let mut __n = __param.len().min(__grad.len());
                #lengths
                let __param = &__param[..__n];
                let __grad = &__grad[..__n];
                #reslices
                #(#inits)*
                #walk
                #(#folds)*
            }
        }
    });
    let arms = passes.map(|pass| {
        let name = format_ident!("__reduce{}", pass);
        let dispatch = mask_dispatch(rule, |mask, dynamic, runtime| {
            quote!(#name::<__T, #mask, #dynamic>(#runtime, &__prep.scalars, __f, __facc, __param, __grad, __state, __out))
        });
        quote!(#pass => #dispatch,)
    });
    let reducer = quote! {
        #(#loops)*
        struct __Reducer<'__p, '__f, __U>(
            &'__p #rt::Prepared<#slots>,
            usize,
            &'__p #rt::Factors<'__f, __U>,
            ::core::cell::RefCell<&'__p mut [f64]>,
        );
        impl<__T: #rt::Element> #rt::ReduceKernel<__T> for __Reducer<'_, '_, __T> {
            #[inline(always)]
            fn run(&self, __param: &[__T], __grad: &[__T], __state: &[&[__T]], __out: &mut [f64]) {
                let (__prep, __f) = (self.0, self.2);
                let mut __accumulators = self.3.borrow_mut();
                let __facc: &mut [f64] = &mut __accumulators;
                match self.1 {
                    #(#arms)*
                    _ => {}
                }
            }
        }
    };
    let factored_entry = factored.then(|| {
        quote! {
            #[inline]
            fn reduce_factored<__T: #rt::Element>(
                __level: #rt::SimdLevel,
                __pass: usize,
                __prep: &Self::Prep,
                __f: &#rt::Factors<'_, __T>,
                __facc: &mut [f64],
                __param: &[__T],
                __grad: &[__T],
                __state: &[&[__T]],
                __out: &mut [f64],
            ) {
                #reducer
                let __reducer = __Reducer(__prep, __pass, __f, ::core::cell::RefCell::new(__facc));
                #rt::dispatch_reduce(__level, &__reducer, __param, __grad, __state, __out)
            }
        }
    });
    let plain_body = if factored {
        quote! {
            let __f = #rt::Factors::whole(&[__param.len()]);
            <Self as #rt::Rule>::reduce_factored(__level, __pass, __prep, &__f, &mut [], __param, __grad, __state, __out)
        }
    } else {
        quote! {
            #reducer
            let __f = #rt::Factors::whole(&[__param.len()]);
            let __reducer = __Reducer(__prep, __pass, &__f, ::core::cell::RefCell::new(&mut []));
            #rt::dispatch_reduce(__level, &__reducer, __param, __grad, __state, __out)
        }
    };
    quote! {
        #[inline]
        fn reduce_at<__T: #rt::Element>(
            __level: #rt::SimdLevel,
            __pass: usize,
            __prep: &Self::Prep,
            __param: &[__T],
            __grad: &[__T],
            __state: &[&[__T]],
            __out: &mut [f64],
        ) {
            #plain_body
        }
        #factored_entry
    }
}

/// For a factored rule: its buffer sizes and the row/column code run between passes.
fn factored_items(rule: &ir::Rule) -> TokenStream {
    if !rule.factored() {
        return TokenStream::new();
    }
    let rt = quote!(__rt);
    let (tr, tc) = rule.temps;
    let (ar, ac) = rule.accumulators;
    let state_slices: Vec<_> = (0..rule.states.len()).map(|i| format_ident!("__s{}", i)).collect();
    let slots = (0..rule.slots).map(|i| {
        let local = format_ident!("__c{}", i);
        quote!(let #local: f64 = __prep.scalars[#i];)
    });
    let locals = factor_locals(rule, false);
    let code = rule.factored_code.iter().map(|(stage, code)| quote!(if __stage == #stage { #code }));
    quote! {
        const FACTORED: bool = true;
        const TEMPORARIES: #rt::FactorBuffers = #rt::FactorBuffers { rows: #tr, cols: #tc };
        const ACCUMULATORS: #rt::FactorBuffers = #rt::FactorBuffers { rows: #ar, cols: #ac };

        fn factored_stage<__T: #rt::Element>(
            __prep: &Self::Prep,
            __stage: usize,
            __state: &mut [&mut [__T]],
            __factors: #rt::FactorsMut<'_>,
        ) {
            let __mask: u32 = __prep.mask;
            #(#slots)*
            let #rt::FactorsMut { slices, rows, cols, temps: __temps, accumulators: __facc } = __factors;
            let __f = #rt::Factors::<__T> { slices, rows, cols, ..#rt::Factors::whole(&[]) };
            let [#(#state_slices),*] = __state else { return };
            #locals
            #(#code)*
        }
    }
}
