//! The rustdoc generated for a rule: hyperparameter table, state, constraints and update.

use crate::ast::Spec;
use crate::ir::{self, HyperTy};

pub(super) fn doc_text(attrs: &[syn::Attribute]) -> String {
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

pub(super) fn generated_docs(spec: &Spec, rule: &ir::Rule) -> String {
    let mut doc = String::from("\n\n# Hyperparameters\n\n| name | default | valid | meaning |\n|---|---|---|---|\n");
    for hyper in &rule.hypers {
        let range = hyper.range.as_ref().map(|(_, text)| format!("`{text}`")).unwrap_or_default();
        let (default, range) = match &hyper.ty {
            HyperTy::OptionalFloat if hyper.default_text == "None" => ("`None` (not set)".to_owned(), range),
            HyperTy::Choice(choice) => {
                let names: Vec<String> = choice.options.iter().map(|(text, _)| format!("`\"{text}\"`")).collect();
                (names[0].clone(), format!("one of {}", names.join(", ")))
            }
            _ => (format!("`{}`", hyper.default_text), range),
        };
        doc += &format!("| `{}` | {default} | {range} | {} |\n", hyper.name, doc_text(&hyper.docs));
    }
    if !rule.states.is_empty() || !rule.scalar_states.is_empty() || !rule.group_states.is_empty() {
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
    for state in &rule.group_states {
        doc += &format!(
            "- `{}`: one per param group (`param_groups()[g].value(\"{}\")`), starts at `{}`. {}\n",
            state.name,
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
    if rule.points.is_some() {
        doc += &format!(
            "\n# Evaluation point\n\n`optimizer.eval()` sets every stepped parameter to\n\n```text\n{}\n```\n\nand `optimizer.train()` back with\n\n```text\n{}\n```\n",
            crate::lower::source_text(&spec.eval),
            crate::lower::source_text(&spec.train)
        );
    }
    doc
}
