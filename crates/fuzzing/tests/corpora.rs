//! Every input the fuzz targets keep (fuzz/corpus/TARGET, minimised after each long run) and
//! every input that once crashed one (fuzz/regressions/TARGET), run again as an ordinary test.

use std::path::Path;

#[test]
fn every_kept_fuzz_input_runs_without_panicking() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut ran = 0;
    for (name, target) in fuzzing::TARGETS {
        for kept in ["corpus", "regressions"] {
            let Ok(inputs) = std::fs::read_dir(fuzz.join(kept).join(name)) else { continue };
            for input in inputs {
                let path = input.unwrap().path();
                target(&std::fs::read(&path).unwrap());
                ran += 1;
            }
        }
    }
    assert!(ran > 0, "no corpus found under {}", fuzz.display());
}
