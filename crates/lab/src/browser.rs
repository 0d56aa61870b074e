//! Headless Chromium for the tests of pages portolan writes: the DOM after the page's scripts
//! ran, and screenshots. Chromium runs in a network namespace of its own with no link at all,
//! so whatever a page (or the browser itself) tries to fetch goes nowhere.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

/// Chromium as installed by Debian's `chromium` package.
pub struct Browser {
    program: PathBuf,
    profile: PathBuf,
}

impl Browser {
    /// The installed browser, or `None` (with a note) outside CI; under CI (`CI` set) a
    /// missing browser is a failure, never a silent skip — scripts/test installs it.
    pub fn find() -> Option<Browser> {
        let program =
            ["/usr/bin/chromium", "/usr/bin/chromium-browser"].into_iter().map(PathBuf::from).find(|p| p.exists());
        match program {
            Some(program) => {
                // A profile of its own: Chromium refuses a second instance on a profile in use,
                // and tests of one process run side by side.
                static NEXT: AtomicU32 = AtomicU32::new(0);
                let instance = NEXT.fetch_add(1, Ordering::Relaxed);
                let name = format!("portolan-chromium-{}-{instance}", std::process::id());
                Some(Browser { program, profile: std::env::temp_dir().join(name) })
            }
            None => {
                assert!(std::env::var_os("CI").is_none(), "the browser tests need chromium under CI");
                eprintln!("skipping browser test: chromium is not installed");
                None
            }
        }
    }

    fn run(&self, extra: &[&str], url: &str) -> io::Result<Output> {
        let output = Command::new("unshare")
            .arg("--net")
            .arg(&self.program)
            // Root has no sandbox without user namespaces set up for it; the pages are ours.
            .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"])
            .arg(format!("--user-data-dir={}", self.profile.display()))
            .args(extra)
            .arg(url)
            .output()?;
        if !output.status.success() {
            return Err(io::Error::other(format!(
                "chromium failed on {url}: {}",
                String::from_utf8_lossy(&output.stderr)
            )));
        }
        Ok(output)
    }

    /// The document at `url` as serialised after its scripts ran. `allow_file_access` lets a
    /// file: page load other files, as an XML file's XSL stylesheet must.
    pub fn dom(&self, url: &str, allow_file_access: bool) -> io::Result<String> {
        let mut extra = vec!["--dump-dom"];
        if allow_file_access {
            extra.push("--allow-file-access-from-files");
        }
        let output = self.run(&extra, url)?;
        String::from_utf8(output.stdout).map_err(io::Error::other)
    }

    /// A PNG of the page at `url` in a window `width` × `height` pixels, written to `png`.
    pub fn screenshot(&self, url: &str, png: &Path, width: u32, height: u32) -> io::Result<()> {
        let size = format!("--window-size={width},{height}");
        let target = format!("--screenshot={}", png.display());
        self.run(&[&size, &target], url)?;
        match png.exists() {
            true => Ok(()),
            false => Err(io::Error::other(format!("chromium wrote no screenshot of {url}"))),
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// A file's `file:` URL.
pub fn file_url(path: &Path) -> String {
    format!("file://{}", path.canonicalize().unwrap_or_else(|_| path.to_path_buf()).display())
}
