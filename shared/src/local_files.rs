//! Local files are their user's alone: every directory Steward makes for its data is 0700
//! and every file 0600 from the moment it exists (created with that mode, never loosened
//! by the process umask, never chmod-ed after the bytes are in). One place makes them.
//!
//! A directory or file that already exists with looser modes (made by an older Steward,
//! or by hand) is tightened when Steward opens it: the data is Steward's, refusing to
//! start would only make the person run `chmod` themselves. A path Steward cannot
//! tighten (someone else's) is refused with an error that says so.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Directories: the owner may list, create and enter; nobody else anything.
pub const DIR_MODE: u32 = 0o700;
/// Files: the owner may read and write; nobody else anything.
pub const FILE_MODE: u32 = 0o600;

/// Creates `path` and its missing parents, each 0700; an existing `path` is tightened.
pub fn create_dir_all(path: &Path) -> io::Result<()> {
    make_dir(path).map(|_| ())
}

/// [`create_dir_all`], returning the looser mode an existing `path` had.
fn make_dir(path: &Path) -> io::Result<Option<u32>> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, DIR_MODE);
    b.create(path)?;
    tighten(path, DIR_MODE)
}

/// [`create_dir_all`] for async callers.
pub async fn create_dir_all_async(path: &Path) -> io::Result<()> {
    let path = path.to_path_buf();
    blocking(move || create_dir_all(&path)).await
}

/// Options whose `create` makes a 0600 file (set read, write, truncate as needed). The
/// mode only applies to a file they create: see [`tighten`] for one that exists.
pub fn open_options() -> std::fs::OpenOptions {
    #[allow(unused_mut)]
    let mut o = std::fs::OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, FILE_MODE);
    o
}

/// [`open_options`] for tokio's files.
pub fn open_options_async() -> tokio::fs::OpenOptions {
    tokio::fs::OpenOptions::from(open_options())
}

/// Makes an existing file or directory no more open than `mode` (0600 / 0700). Returns
/// the looser mode it had, if it had one; `Ok(None)` when it was private already or is
/// not there.
pub fn tighten(path: &Path, mode: u32) -> io::Result<Option<u32>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let had = meta.permissions().mode() & 0o7777;
        if had & !mode == 0 {
            return Ok(None);
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
        Ok(Some(had))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(None)
    }
}

/// A file made private: created 0600 if new, tightened if it was looser.
pub fn tighten_file(path: &Path) -> io::Result<()> {
    tighten(path, FILE_MODE).map(|_| ())
}

/// Writes `bytes` to `path` whole or not at all: a 0600 file beside it, synced, then
/// renamed over `path`. A reader sees the old content or the new, never a mix, and a
/// crash leaves at most a private temporary file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    let tmp = temp_beside(path);
    let written = (|| {
        let mut f = open_options().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// [`write_atomic`] for async callers.
pub async fn write_atomic_async(path: &Path, bytes: Vec<u8>) -> io::Result<()> {
    let path = path.to_path_buf();
    blocking(move || write_atomic(&path, &bytes)).await
}

/// `<dir>/.<name>.<pid>.<n>.tmp`: unique within this process and among processes.
fn temp_beside(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(io::Error::other)?
}

/// Opens the data directory for `steward serve`: created 0700 (with its parents) if new,
/// tightened to 0700 if it exists and others could read or enter it (returning the mode
/// it had, for the caller to say so). Refused, saying why, when it cannot be made private
/// (it is someone else's).
pub fn data_dir(path: &Path) -> Result<Option<u32>, String> {
    make_dir(path).map_err(|e| {
        format!(
            "the data directory {} cannot be made private to this user ({e}); \
             `chmod 700` it or choose another with --data-dir",
            path.display()
        )
    })
}

/// Logs that `data_dir` tightened `path` from `had`.
pub fn warn_tightened(path: &Path, had: u32) {
    tracing::warn!(
        dir = %path.display(),
        was = format!("{had:o}"),
        "the data directory was open to other users; it is now 0700"
    );
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn files_and_directories_are_made_private_whatever_they_were() {
        let root = tempfile::tempdir().unwrap();
        let nested = root.path().join("a/b");
        create_dir_all(&nested).unwrap();
        assert_eq!(mode(&root.path().join("a")), 0o700);
        assert_eq!(mode(&nested), 0o700);

        let file = nested.join("state.json");
        write_atomic(&file, b"{}").unwrap();
        assert_eq!(mode(&file), 0o600);
        assert_eq!(std::fs::read(&file).unwrap(), b"{}");
        // Nothing is left beside it.
        assert_eq!(std::fs::read_dir(&nested).unwrap().count(), 1);

        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(tighten(&file, FILE_MODE).unwrap(), Some(0o644));
        assert_eq!(mode(&file), 0o600);
        assert_eq!(tighten(&file, FILE_MODE).unwrap(), None);

        let open = root.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(data_dir(&open).unwrap(), Some(0o755));
        assert_eq!(mode(&open), 0o700);
    }
}
