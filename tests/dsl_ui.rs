//! Compile-time behaviour of `optimizer!`: specs that must compile cleanly, and mistakes that
//! must be reported at the offending token with a hint (`tests/ui/fail/*.stderr`).

#[test]
fn dsl_specs_compile_and_mistakes_are_reported() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
