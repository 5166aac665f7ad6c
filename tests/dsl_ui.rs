//! Compile-time behaviour of `optimizer!`: specs that must compile cleanly, and mistakes that
//! must be reported at the offending token with a hint (`tests/ui/fail/*.stderr`).

/// The README's count of compile-fail cases is the number of files in `tests/ui/fail/`.
#[test]
fn the_readme_counts_the_compile_fail_cases() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ui/fail");
    let count = std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension() == Some("rs".as_ref()))
        .count();
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    assert!(
        readme.contains(&format!("{count} compile-fail cases")),
        "README.md should say {count} compile-fail cases; run scripts/readme_figures.py"
    );
}

#[test]
fn dsl_specs_compile_and_mistakes_are_reported() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*.rs");
}
