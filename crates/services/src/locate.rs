//! Where Nmap keeps its data files, searched in Nmap's documented order.

use std::path::{Path, PathBuf};

/// The candidate directories for Nmap data files, most specific first. Built from the process
/// environment by [`DataDirs::from_env`]; tests build it directly.
#[derive(Debug, Clone, Default)]
pub struct DataDirs {
    /// `--datadir`
    pub datadir: Option<PathBuf>,
    /// `$NMAPDIR`
    pub nmapdir: Option<PathBuf>,
    /// `$HOME`, whose `.nmap` directory is searched
    pub home: Option<PathBuf>,
    /// The system-wide directory (`/usr/share/nmap` on Debian)
    pub system: Option<PathBuf>,
}

impl DataDirs {
    pub fn from_env(datadir: Option<PathBuf>) -> DataDirs {
        DataDirs {
            datadir,
            nmapdir: std::env::var_os("NMAPDIR").map(PathBuf::from),
            home: std::env::var_os("HOME").map(PathBuf::from),
            system: Some(PathBuf::from("/usr/share/nmap")),
        }
    }

    fn candidates(&self) -> impl Iterator<Item = PathBuf> + '_ {
        let home_nmap = self.home.as_ref().map(|h| h.join(".nmap"));
        [self.datadir.clone(), self.nmapdir.clone(), home_nmap, self.system.clone()].into_iter().flatten()
    }

    /// The first directory that holds `file_name`.
    pub fn find(&self, file_name: &str) -> Option<PathBuf> {
        self.candidates().map(|dir| dir.join(file_name)).find(|path| is_file(path))
    }
}

fn is_file(path: &Path) -> bool {
    path.metadata().map(|m| m.is_file()).unwrap_or(false)
}

/// The installed `nmap-services`, if any.
pub fn find_nmap_services(dirs: &DataDirs) -> Option<PathBuf> {
    dirs.find("nmap-services")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(file: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("portolan-locate-{}-{file}-{}", std::process::id(), rand_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(file), "").unwrap();
        dir
    }

    fn rand_suffix() -> u128 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    }

    #[test]
    fn datadir_wins_over_nmapdir_and_home_and_system() {
        let datadir = dir_with("nmap-services");
        let nmapdir = dir_with("nmap-services");
        let dirs =
            DataDirs { datadir: Some(datadir.clone()), nmapdir: Some(nmapdir.clone()), home: None, system: None };
        assert_eq!(find_nmap_services(&dirs), Some(datadir.join("nmap-services")));
        let dirs = DataDirs { datadir: None, ..dirs };
        assert_eq!(find_nmap_services(&dirs), Some(nmapdir.join("nmap-services")));
    }

    #[test]
    fn home_dot_nmap_is_searched_before_the_system_directory() {
        let home = std::env::temp_dir().join(format!("portolan-home-{}-{}", std::process::id(), rand_suffix()));
        std::fs::create_dir_all(home.join(".nmap")).unwrap();
        std::fs::write(home.join(".nmap/nmap-services"), "").unwrap();
        let system = dir_with("nmap-services");
        let dirs = DataDirs { datadir: None, nmapdir: None, home: Some(home.clone()), system: Some(system) };
        assert_eq!(find_nmap_services(&dirs), Some(home.join(".nmap/nmap-services")));
    }

    #[test]
    fn directories_without_the_file_are_skipped() {
        let empty = std::env::temp_dir();
        let system = dir_with("nmap-services");
        let dirs = DataDirs { datadir: Some(empty), nmapdir: None, home: None, system: Some(system.clone()) };
        assert_eq!(find_nmap_services(&dirs), Some(system.join("nmap-services")));
        assert_eq!(find_nmap_services(&DataDirs::default()), None);
    }
}
