//! Member files uploaded from the console, on disk rather than in memory: `<data dir>/imports/`, folder 0700, files
//! 0600. An upload streams into `<owner>-<id>.part` (`Incoming`), deleted when the request ends unless it is kept:
//! after a dry run that found nothing wrong, the file becomes `<owner>-<id>.csv` for [`KEEP_MINUTES`], so that
//! "Nhập" needs no second upload. `owner` is the staff account (`staff-12`), `id` 128 random bits: one account
//! cannot name another's file. Files past their time are removed whenever an upload starts or a kept file is asked
//! for; a kept file is removed once imported.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use actix_web::web;

use crate::auth::Subject;
use crate::error::AppError;
use crate::files;

/// How long a file that passed its dry run is kept for the import.
pub(super) const KEEP_MINUTES: u64 = 15;
/// Bytes gathered before one write to disk.
const WRITE_CHUNK: usize = 1 << 20;

fn folder(data_dir: &Path) -> PathBuf {
    data_dir.join("imports")
}

fn owner(subject: Subject) -> String {
    subject.to_string().replace(':', "-")
}

/// An id as the console writes it: 32 lowercase hex digits.
fn valid_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// An upload being received.
pub(super) struct Incoming {
    path: PathBuf,
    kept: PathBuf,
    id: String,
    file: Option<std::fs::File>,
    pending: Vec<u8>,
    size: u64,
    /// Whether the file is still to be deleted when this is dropped.
    armed: bool,
}

impl Incoming {
    /// Starts an upload for `subject` (removing files past their time first).
    pub(super) async fn start(data_dir: &Path, subject: Subject) -> Result<Incoming, AppError> {
        let dir = folder(data_dir);
        let id = uuid::Uuid::new_v4().simple().to_string();
        let path = dir.join(format!("{}-{id}.part", owner(subject)));
        let kept = dir.join(format!("{}-{id}.csv", owner(subject)));
        let file = {
            let path = path.clone();
            web::block(move || {
                files::create_private_folder(&dir)?;
                sweep(&dir);
                files::create_private_file(&path)
            })
            .await?
            .map_err(|e| io_error(e, "cannot create a file for the upload"))?
        };
        Ok(Incoming { path, kept, id, file: Some(file), pending: Vec::new(), size: 0, armed: true })
    }

    pub(super) fn size(&self) -> u64 {
        self.size
    }

    /// Appends bytes (written to disk a megabyte at a time, off the workers).
    pub(super) async fn write(&mut self, data: &[u8]) -> Result<(), AppError> {
        self.size += data.len() as u64;
        self.pending.extend_from_slice(data);
        if self.pending.len() >= WRITE_CHUNK {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), AppError> {
        let mut file = self.file.take().expect("the file is back after every write");
        let data = std::mem::take(&mut self.pending);
        let (file, data) = web::block(move || -> std::io::Result<_> {
            file.write_all(&data)?;
            Ok((file, data))
        })
        .await?
        .map_err(|e| io_error(e, "cannot write the upload"))?;
        self.file = Some(file);
        self.pending = data;
        self.pending.clear();
        Ok(())
    }

    /// The whole file, read once into memory for the import (the only copy the server holds).
    pub(super) async fn contents(&mut self) -> Result<Vec<u8>, AppError> {
        self.flush().await?;
        self.pending = Vec::new();
        let path = self.path.clone();
        web::block(move || std::fs::read(path)).await?.map_err(|e| io_error(e, "cannot read the upload"))
    }

    /// Keeps the file for the import without a second upload; answers its id.
    pub(super) async fn keep(mut self) -> Result<String, AppError> {
        self.file = None;
        let (from, to) = (self.path.clone(), self.kept.clone());
        web::block(move || std::fs::rename(from, to)).await?.map_err(|e| io_error(e, "cannot keep the upload"))?;
        self.armed = false;
        Ok(self.id.clone())
    }
}

impl Drop for Incoming {
    fn drop(&mut self) {
        if self.armed {
            self.file = None;
            // One unlink; a failure leaves a file that the next sweep removes.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// A kept file of `subject`, if `id` names one still within its time: its contents, and the file is removed
/// (it is imported now, or refused and must be fixed anyway).
pub(super) async fn take(data_dir: &Path, subject: Subject, id: &str) -> Result<Option<Vec<u8>>, AppError> {
    if !valid_id(id) {
        return Ok(None);
    }
    let dir = folder(data_dir);
    let path = dir.join(format!("{}-{id}.csv", owner(subject)));
    web::block(move || {
        sweep(&dir);
        let contents = match std::fs::read(&path) {
            Ok(contents) => contents,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error),
        };
        std::fs::remove_file(&path)?;
        Ok(Some(contents))
    })
    .await?
    .map_err(|e| io_error(e, "cannot read a kept upload"))
}

/// Removes the files of the folder older than [`KEEP_MINUTES`] (by their last write). Errors are only logged.
fn sweep(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let limit = Duration::from_secs(KEEP_MINUTES * 60);
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let old = entry
            .metadata()
            .and_then(|meta| meta.modified())
            .is_ok_and(|modified| now.duration_since(modified).is_ok_and(|age| age > limit));
        if old {
            if let Err(error) = std::fs::remove_file(entry.path()) {
                tracing::warn!(%error, "could not remove an expired member upload");
            }
        }
    }
}

fn io_error(error: std::io::Error, context: &'static str) -> AppError {
    AppError::Internal(anyhow::Error::new(error).context(context))
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[actix_web::test]
    async fn uploads_are_private_kept_once_and_only_for_their_owner() {
        let data = tempfile::tempdir().unwrap();
        let mut incoming = Incoming::start(data.path(), Subject::Staff(1)).await.unwrap();
        incoming.write(b"card_number\n").await.unwrap();
        incoming.write(&vec![b'1'; WRITE_CHUNK + 5]).await.unwrap();
        let contents = incoming.contents().await.unwrap();
        assert_eq!(contents.len() as u64, incoming.size());
        assert!(contents.starts_with(b"card_number\n1111"));
        let id = incoming.keep().await.unwrap();
        let dir = folder(data.path());
        let kept = dir.join(format!("staff-1-{id}.csv"));
        assert_eq!(std::fs::metadata(&kept).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);

        assert_eq!(take(data.path(), Subject::Staff(2), &id).await.unwrap(), None, "another account's file");
        assert_eq!(take(data.path(), Subject::Staff(1), "../../etc/passwd").await.unwrap(), None);
        assert_eq!(take(data.path(), Subject::Staff(1), &id).await.unwrap(), Some(contents));
        assert_eq!(take(data.path(), Subject::Staff(1), &id).await.unwrap(), None, "taken once");

        let dropped = Incoming::start(data.path(), Subject::Staff(1)).await.unwrap();
        drop(dropped);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "an upload not kept leaves nothing behind");
    }
}
