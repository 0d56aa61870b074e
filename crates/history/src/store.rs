//! Saved scans in a SQLite database: each as its portolan JSON document.

use std::path::{Path, PathBuf};

use rusqlite::{params, Connection};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("scan history {path}: {source}")]
    Database { path: PathBuf, source: rusqlite::Error },
    #[error("scan history {path}: {source}")]
    Directory { path: PathBuf, source: std::io::Error },
    #[error("no saved scan {0}")]
    NoSuchScan(i64),
    #[error("not a portolan JSON document: {0}")]
    NotADocument(serde_json::Error),
}

/// One saved scan, as `portolan history` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredScan {
    pub id: i64,
    pub started: String,
    pub command_line: String,
    pub hosts_up: i64,
}

pub struct Store {
    path: PathBuf,
    connection: Connection,
}

impl Store {
    /// Opens the database at `path`, creating it (and its directory) on first use.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Directory { path: path.into(), source })?;
        }
        let database = |source| StoreError::Database { path: path.into(), source };
        let connection = Connection::open(path).map_err(database)?;
        connection
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS scans (
                    id INTEGER PRIMARY KEY,
                    started TEXT NOT NULL,
                    command_line TEXT NOT NULL,
                    hosts_up INTEGER NOT NULL,
                    document TEXT NOT NULL
                )",
            )
            .map_err(database)?;
        Ok(Store { path: path.into(), connection })
    }

    fn database(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Database { path: self.path.clone(), source }
    }

    /// Saves a scan's JSON document; returns its number.
    pub fn save(&self, document: &str) -> Result<i64, StoreError> {
        let value: serde_json::Value = serde_json::from_str(document).map_err(StoreError::NotADocument)?;
        let started = value["started"].as_str().unwrap_or_default();
        let command_line = value["command_line"].as_str().unwrap_or_default();
        let hosts_up = value["summary"]["hosts_up"].as_i64().unwrap_or(0);
        self.connection
            .execute(
                "INSERT INTO scans (started, command_line, hosts_up, document) VALUES (?1, ?2, ?3, ?4)",
                params![started, command_line, hosts_up, document],
            )
            .map_err(|e| self.database(e))?;
        Ok(self.connection.last_insert_rowid())
    }

    /// Every saved scan, oldest first.
    pub fn list(&self) -> Result<Vec<StoredScan>, StoreError> {
        let mut statement = self
            .connection
            .prepare("SELECT id, started, command_line, hosts_up FROM scans ORDER BY id")
            .map_err(|e| self.database(e))?;
        let rows = statement
            .query_map([], |row| {
                Ok(StoredScan {
                    id: row.get(0)?,
                    started: row.get(1)?,
                    command_line: row.get(2)?,
                    hosts_up: row.get(3)?,
                })
            })
            .map_err(|e| self.database(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.database(e))
    }

    /// The JSON document of saved scan `id`.
    pub fn document(&self, id: i64) -> Result<String, StoreError> {
        self.connection.query_row("SELECT document FROM scans WHERE id = ?1", [id], |row| row.get(0)).map_err(|e| {
            match e {
                rusqlite::Error::QueryReturnedNoRows => StoreError::NoSuchScan(id),
                other => self.database(other),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document(command: &str, up: u64) -> String {
        serde_json::json!({"schema_version": 1, "started": "2026-11-25T12:00:00Z", "command_line": command,
            "hosts": [], "summary": {"hosts_up": up}})
        .to_string()
    }

    #[test]
    fn saves_lists_and_loads_scans() {
        let dir = std::env::temp_dir().join(format!("portolan-store-{}", std::process::id()));
        let path = dir.join("nested/history.sqlite");
        let store = Store::open(&path).unwrap();
        let first = store.save(&document("portolan 198.18.0.2", 1)).unwrap();
        let second = store.save(&document("portolan -p- 198.18.0.2", 0)).unwrap();
        assert_eq!((first, second), (1, 2));
        drop(store);
        let store = Store::open(&path).unwrap();
        let listed = store.list().unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!((listed[0].command_line.as_str(), listed[0].hosts_up), ("portolan 198.18.0.2", 1));
        assert_eq!(store.document(2).unwrap(), document("portolan -p- 198.18.0.2", 0));
        assert!(matches!(store.document(9), Err(StoreError::NoSuchScan(9))));
        assert!(matches!(store.save("not json"), Err(StoreError::NotADocument(_))));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
