//! The blob store: attachment bytes kept content-addressed by SHA-256 in `<data dir>/attachments/<first two hex
//! digits>/<sha256>`, each written once, folders 0700 and files 0600. Uploads stream into a private temporary file
//! in `attachments/tmp/`, hashed as they arrive, and are filed under their hash when complete. The handlers know
//! only this API (`create`, `put`, `open`), so that another store can stand behind it.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use actix_web::web;
use sha2::{Digest, Sha256};

use crate::error::AppError;
use crate::files;

/// The attachments folder of a data folder.
#[derive(Clone, Debug)]
pub struct BlobStore {
    root: PathBuf,
}

impl BlobStore {
    /// The store in `<data_dir>/attachments`.
    pub fn new(data_dir: &Path) -> BlobStore {
        BlobStore { root: data_dir.join("attachments") }
    }

    /// Where the blob `sha256` is kept.
    fn path(&self, sha256: &str) -> PathBuf {
        self.root.join(&sha256[..2]).join(sha256)
    }

    /// Starts a new blob: a private temporary file, written with `NewBlob::write` and kept by `NewBlob::finish`.
    pub async fn create(&self) -> Result<NewBlob, AppError> {
        let tmp_dir = self.root.join("tmp");
        let tmp_path = tmp_dir.join(format!("{}.part", uuid::Uuid::new_v4().simple()));
        let opened = {
            let tmp_path = tmp_path.clone();
            web::block(move || {
                files::create_private_folder(&tmp_dir)?;
                files::create_private_file(&tmp_path)
            })
            .await?
            .map_err(|e| io_error(e, "cannot create a temporary attachment file"))?
        };
        Ok(NewBlob {
            store: self.clone(),
            sink: Some(Sink { file: opened, hasher: Sha256::new() }),
            tmp: TempFile(Some(tmp_path)),
        })
    }

    /// Stores bytes already in memory (unless the same bytes are stored) and answers their SHA-256.
    /// Blocking: call it off the actix workers.
    pub fn put(&self, bytes: &[u8]) -> Result<String, AppError> {
        let sha256: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
        let path = self.path(&sha256);
        if !path.exists() {
            let folder = path.parent().expect("blob paths have a folder");
            files::create_private_folder(folder).map_err(|e| io_error(e, "create the attachments folder"))?;
            match files::create_private_file(&path).and_then(|mut file| file.write_all(bytes)) {
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                    return Err(io_error(e, "write an attachment"))
                }
                _ => {}
            }
        }
        Ok(sha256)
    }

    /// Opens the stored blob `sha256` for reading; a blob that is recorded must be there.
    pub async fn open(&self, sha256: &str) -> Result<std::fs::File, AppError> {
        let stored = self.path(sha256);
        web::block(move || std::fs::File::open(stored)).await?.map_err(|e| {
            AppError::Internal(
                anyhow::Error::new(e).context(format!("attachment {sha256} is recorded but its file cannot be opened")),
            )
        })
    }
}

/// A blob being written: its temporary file, removed unless `finish` keeps it (on errors explicitly, on
/// cancellation when dropped).
pub struct NewBlob {
    store: BlobStore,
    /// The file and the hash of what was written so far; away only while a write runs.
    sink: Option<Sink>,
    tmp: TempFile,
}

impl NewBlob {
    /// Writes and hashes `data` off the actix workers.
    pub async fn write(&mut self, data: web::Bytes) -> Result<(), AppError> {
        let Sink { mut file, mut hasher } = self.sink.take().expect("the sink is back after every write");
        let back = web::block(move || -> std::io::Result<Sink> {
            file.write_all(&data)?;
            hasher.update(&data);
            Ok(Sink { file, hasher })
        })
        .await?
        .map_err(|e| io_error(e, "cannot write an attachment"))?;
        self.sink = Some(back);
        Ok(())
    }

    /// Writes the `last` bytes, flushes the file to disk and files it under its SHA-256, which it answers.
    /// Bytes already stored are kept once: the new copy is removed. On any error the temporary file is removed.
    pub async fn finish(mut self, last: web::Bytes) -> Result<String, AppError> {
        let sha256 = match self.flush(last).await {
            Ok(sha256) => sha256,
            Err(error) => {
                self.discard().await;
                return Err(error);
            }
        };
        let stored = self.store.path(&sha256);
        let moving = self.tmp.0.clone().expect("the temporary file is still ours");
        let placed = web::block(move || -> std::io::Result<()> {
            files::create_private_folder(stored.parent().expect("a folder"))?;
            if stored.exists() {
                std::fs::remove_file(&moving)
            } else {
                std::fs::rename(&moving, &stored)
            }
        })
        .await
        .map_err(AppError::from)
        .and_then(|r| r.map_err(|e| io_error(e, "cannot store an attachment")));
        if let Err(error) = placed {
            self.discard().await;
            return Err(error);
        }
        self.tmp.disarm();
        Ok(sha256)
    }

    /// Writes the `last` bytes and syncs the file; answers the SHA-256 of everything written.
    async fn flush(&mut self, last: web::Bytes) -> Result<String, AppError> {
        let Sink { file, hasher } = self.sink.take().expect("the sink is back after every write");
        web::block(move || -> std::io::Result<String> {
            let mut file = file;
            let mut hasher = hasher;
            file.write_all(&last)?;
            hasher.update(&last);
            file.sync_all()?;
            Ok(format!("{:x}", hasher.finalize()))
        })
        .await?
        .map_err(|e| io_error(e, "cannot write an attachment"))
    }

    /// Removes the temporary file: the blob is abandoned.
    pub async fn discard(mut self) {
        self.tmp.discard().await;
    }
}

struct Sink {
    file: std::fs::File,
    hasher: Sha256,
}

/// A temporary file that is removed unless kept: on errors explicitly, on cancellation by `Drop`.
struct TempFile(Option<PathBuf>);

impl TempFile {
    async fn discard(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = web::block(move || std::fs::remove_file(path)).await;
        }
    }

    fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => drop(runtime.spawn_blocking(move || std::fs::remove_file(path))),
                Err(_) => {
                    let _ = std::fs::remove_file(path);
                }
            }
        }
    }
}

fn io_error(error: std::io::Error, context: &'static str) -> AppError {
    AppError::Internal(anyhow::Error::new(error).context(context))
}
