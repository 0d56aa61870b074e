//! The Debian package scripts/package-deb builds (scripts/test builds it first): unpacked
//! into a directory of its own, its binary runs and its man page renders.

use std::path::PathBuf;
use std::process::Command;

/// The newest .deb under target/debian, if one was built.
fn built_package() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/debian");
    let mut packages: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|entry| Some(entry.ok()?.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "deb"))
        .collect();
    packages.sort_by_key(|path| std::fs::metadata(path).and_then(|m| m.modified()).ok());
    packages.pop()
}

#[test]
fn the_debian_package_carries_a_working_binary_its_man_page_and_completions() {
    let Some(package) = built_package() else {
        assert!(std::env::var_os("CI").is_none(), "scripts/test builds the package under CI");
        eprintln!("skipping: no package built (scripts/package-deb)");
        return;
    };
    let root = std::env::temp_dir().join(format!("portolan-deb-{}", std::process::id()));
    let unpacked = Command::new("dpkg-deb").arg("-x").arg(&package).arg(&root).status().expect("run dpkg-deb");
    assert!(unpacked.success());
    let version = Command::new(root.join("usr/bin/portolan")).arg("-V").output().unwrap();
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("portolan version "), "{version:?}");
    let page = root.join("usr/share/man/man1/portolan.1.gz");
    let rendered = Command::new("man").arg("-l").arg(&page).env("MANPAGER", "cat").output().expect("run man");
    assert!(rendered.status.success(), "{}", String::from_utf8_lossy(&rendered.stderr));
    assert!(String::from_utf8_lossy(&rendered.stdout).contains("port scanner"), "the man page renders");
    for completion in [
        "usr/share/bash-completion/completions/portolan",
        "usr/share/zsh/vendor-completions/_portolan",
        "usr/share/fish/vendor_completions.d/portolan.fish",
    ] {
        assert!(root.join(completion).is_file(), "{completion}");
    }
    std::fs::remove_dir_all(&root).unwrap();
}
