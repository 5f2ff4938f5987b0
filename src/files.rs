//! Files that hold personal data or secrets (the SQLite database and its WAL, the signing keys, attachments,
//! backups) are readable by the service's own user only: folders 0700, files 0600. `main` sets the umask to
//! 0077 as well, but these helpers do not rely on it (the tests run the App in process, without it), and they
//! tighten what an older version left readable to all.

use std::fs::{DirBuilder, File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Mode of a private folder.
pub const FOLDER_MODE: u32 = 0o700;
/// Mode of a private file.
pub const FILE_MODE: u32 = 0o600;

/// Creates a folder and its missing parents, each one it creates private. Existing ones are left as they are.
pub fn create_private_folder(path: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(FOLDER_MODE).create(path)
}

/// Creates a new private file for writing; fails if the file exists.
pub fn create_private_file(path: &Path) -> io::Result<File> {
    OpenOptions::new().write(true).create_new(true).mode(FILE_MODE).open(path)
}

/// Makes an existing file private: group and others lose their permissions (0644 becomes 0600). A file that
/// does not exist is no error.
pub fn make_private(path: &Path) -> io::Result<()> {
    match std::fs::metadata(path) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error),
        Ok(meta) => owner_only(path, meta.mode()),
    }
}

/// Takes group and others' permissions away, if they have any.
fn owner_only(path: &Path, mode: u32) -> io::Result<()> {
    if mode & 0o077 == 0 {
        return Ok(());
    }
    std::fs::set_permissions(path, Permissions::from_mode(mode & 0o7700))
}

/// Makes the service's data folder private, created 0700 if missing. An existing folder loses group and others'
/// permissions when the service's user owns it and it is not a shared folder (sticky bit, as /tmp has): the
/// data folder is meant to be the service's own.
pub fn secure_data_folder(path: &Path) -> io::Result<()> {
    create_private_folder(path)?;
    let meta = std::fs::metadata(path)?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let ours = meta.uid() == unsafe { libc::geteuid() };
    let shared = meta.mode() & 0o1000 != 0;
    if ours && !shared {
        owner_only(path, meta.mode())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> io::Result<u32> {
        Ok(std::fs::metadata(path)?.permissions().mode() & 0o777)
    }

    #[test]
    fn folders_and_files_are_made_private() {
        let root = tempfile::tempdir().unwrap();
        let data = root.path().join("a/b");
        secure_data_folder(&data).unwrap();
        assert_eq!(mode(&data).unwrap(), FOLDER_MODE);
        assert_eq!(mode(&root.path().join("a")).unwrap(), FOLDER_MODE);

        std::fs::set_permissions(&data, Permissions::from_mode(0o755)).unwrap();
        secure_data_folder(&data).unwrap();
        assert_eq!(mode(&data).unwrap(), FOLDER_MODE, "an existing folder is tightened");

        let file = data.join("f");
        create_private_file(&file).unwrap();
        assert_eq!(mode(&file).unwrap(), FILE_MODE);
        std::fs::set_permissions(&file, Permissions::from_mode(0o644)).unwrap();
        make_private(&file).unwrap();
        assert_eq!(mode(&file).unwrap(), FILE_MODE);
        make_private(&data.join("missing")).unwrap();
    }
}
