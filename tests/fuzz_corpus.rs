//! The fuzz corpus as a regression suite on stable: every file under `fuzz/corpus/<target>/`
//! (and `fuzz/artifacts/<target>/`, where libFuzzer leaves a crash it found) goes through the
//! same target body as the libFuzzer binary (`fuzz/targets.rs`), which panics on a finding.
//! Seeds named `valid_*` must still decode to a value, so the corpus keeps reaching past the
//! first error.

// Tests fail by panicking.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[path = "../fuzz/targets.rs"]
mod targets;

use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// The files of `fuzz/<kind>/<target>/`, sorted (none when the folder does not exist).
fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let Ok(dir) = std::fs::read_dir(fuzz_dir().join(kind).join(target)) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = dir
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

fn replay(target: &str, run: targets::Target, file: &Path) -> bool {
    let data = std::fs::read(file).unwrap();
    let outcome = std::panic::catch_unwind(|| run(&data));
    outcome.unwrap_or_else(|_| panic!("{target} panicked on {}", file.display()))
}

#[test]
fn every_corpus_file_passes_its_target_and_every_valid_seed_still_decodes() {
    for (target, run) in targets::TARGETS {
        let corpus = inputs("corpus", target);
        assert!(
            corpus.len() >= 2,
            "fuzz/corpus/{target}/ has seeds: {corpus:?}"
        );
        for file in &corpus {
            let decoded = replay(target, *run, file);
            let name = file.file_name().unwrap().to_string_lossy();
            if name.starts_with("valid_") {
                assert!(decoded, "the seed {} decodes", file.display());
            }
        }
        for file in inputs("artifacts", target) {
            replay(target, *run, &file);
        }
    }
}

#[test]
fn every_corpus_folder_belongs_to_a_target() {
    let names: Vec<String> = std::fs::read_dir(fuzz_dir().join("corpus"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for name in &names {
        assert!(
            targets::TARGETS.iter().any(|(t, _)| t == name),
            "fuzz/corpus/{name}/ has no target in fuzz/targets.rs"
        );
    }
    for (target, _) in targets::TARGETS {
        assert!(
            fuzz_dir()
                .join("fuzz_targets")
                .join(format!("{target}.rs"))
                .is_file(),
            "fuzz/fuzz_targets/{target}.rs exists"
        );
    }
}
