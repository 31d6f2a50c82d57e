//! The rule for tests that cannot run here: skip with a printed reason
//! under plain `cargo test`, fail under `CI`. A test that quietly returns
//! under CI hides a gap (the full-file-system test once did when not root).

use crate::support::skip_or_fail;
use std::path::Path;

#[test]
fn under_ci_a_skip_is_a_failure() {
    let failed = std::panic::catch_unwind(|| skip_or_fail(true, "needs a tool")).is_err();
    assert!(failed, "CI set: the test must fail, not skip");
    let failed = std::panic::catch_unwind(|| skip_or_fail(false, "needs a tool")).is_err();
    assert!(!failed, "CI unset: a printed skip");
}

/// Every skip goes through the one rule in `support/mod.rs`: no test file
/// prints its own `SKIPPED` line (and returns, whatever `CI` says).
#[test]
fn every_skip_goes_through_the_ci_rule() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests");
    let mut files = Vec::new();
    let mut dirs = vec![tests];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read tests dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    assert!(files.len() > 10, "found the test sources: {files:?}");
    let rule = Path::new("e2e/support/mod.rs");
    let marker = concat!("SKIP", "PED");
    for file in files {
        if file.ends_with(rule) || file.ends_with("e2e/skips.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("read test source");
        for (i, line) in text.lines().enumerate() {
            assert!(
                !line.contains(marker),
                "{}:{}: prints its own skip; use support::skip_or_fail_under_ci or \
                 require_tool, which fail under CI: {line}",
                file.display(),
                i + 1
            );
        }
    }
}
