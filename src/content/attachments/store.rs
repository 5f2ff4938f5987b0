//! The blob store: attachment bytes kept content-addressed by SHA-256, each written once, where
//! `HANDBOOK_ATTACHMENT_STORE` says:
//! - `file` (the default): in `<data dir>/attachments/<first two hex digits>/<sha256>`, folders 0700 and files 0600;
//! - `s3://BUCKET[/PREFIX]`: as the objects `[PREFIX/]<first two hex digits>/<sha256>` of an S3-compatible bucket
//!   (`s3`), so that every instance of the service reads what any of them stored.
//!
//! Uploads stream into a private temporary file in `<data dir>/attachments/tmp/`, hashed as they arrive. Complete,
//! the file is filed under its hash: renamed into place, or sent to the bucket (in parts, unless it is small) unless
//! the bucket has it already, and removed. The handlers know only this API (`create`, `put`, `open`).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use actix_web::web;
use sha2::{Digest, Sha256};

use crate::config::{AttachmentStore, Settings};
use crate::error::AppError;
use crate::files;

mod s3;

pub use s3::Object;

/// Where attachments are kept: the data folder, or a bucket (with the data folder for uploads in progress).
#[derive(Clone, Debug)]
pub struct BlobStore {
    /// `<data dir>/attachments`: the blobs themselves in the `file` store, the temporary files in both.
    root: PathBuf,
    bucket: Option<s3::Bucket>,
}

/// A stored blob, opened for reading.
pub enum Stored {
    File(std::fs::File),
    Object(Object),
}

impl BlobStore {
    /// The store in `<data_dir>/attachments`.
    pub fn new(data_dir: &Path) -> BlobStore {
        BlobStore { root: data_dir.join("attachments"), bucket: None }
    }

    /// The store `settings` name, a bucket reached as the process's `AWS_*` variables say. Nothing is asked of a
    /// bucket yet (see `check`); a bucket that cannot even be addressed (a malformed `AWS_*` variable) is an error.
    pub fn from_settings(settings: &Settings) -> anyhow::Result<BlobStore> {
        BlobStore::from_settings_and_env(settings, std::env::vars())
    }

    /// `from_settings` with the `AWS_*` variables of `env` instead of the process's (for tests, which cannot
    /// change the environment of a process whose threads read it).
    pub fn from_settings_and_env(
        settings: &Settings,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<BlobStore> {
        let bucket = match &settings.attachment_store {
            AttachmentStore::File => None,
            AttachmentStore::S3 { bucket, prefix } => Some(s3::Bucket::new(bucket, prefix, env)?),
        };
        Ok(BlobStore { bucket, ..BlobStore::new(&settings.data_dir) })
    }

    /// Checks at start that the store can be used: a bucket must exist and answer to our credentials (a listing
    /// under the prefix). The data folder needs no check.
    pub async fn check(&self) -> anyhow::Result<()> {
        match &self.bucket {
            None => Ok(()),
            Some(bucket) => bucket.check().await,
        }
    }

    /// Whether the store answers within `timeout` (for `/readyz`): always for the data folder; for a bucket, one
    /// metadata request.
    pub async fn reachable(&self, timeout: Duration) -> bool {
        match &self.bucket {
            None => true,
            Some(bucket) => bucket.reachable(timeout).await,
        }
    }

    /// Where the blob `sha256` is kept in the data folder.
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
            size: 0,
        })
    }

    /// Stores bytes already in memory (unless the same bytes are stored) and answers their SHA-256.
    /// Blocking: call it off the actix workers.
    pub fn put(&self, bytes: &[u8]) -> Result<String, AppError> {
        let sha256: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
        if let Some(bucket) = &self.bucket {
            bucket.put_blocking(&sha256, web::Bytes::copy_from_slice(bytes))?;
            return Ok(sha256);
        }
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

    /// Opens the stored blob `sha256` for reading; a blob that is recorded must be there. An object is only
    /// named here: it is read (whole or a range) by `Object::read`.
    pub async fn open(&self, sha256: &str) -> Result<Stored, AppError> {
        if let Some(bucket) = &self.bucket {
            return Ok(Stored::Object(bucket.object(sha256)));
        }
        let stored = self.path(sha256);
        let file = web::block(move || std::fs::File::open(stored)).await?.map_err(|e| {
            AppError::Internal(
                anyhow::Error::new(e).context(format!("attachment {sha256} is recorded but its file cannot be opened")),
            )
        })?;
        Ok(Stored::File(file))
    }
}

/// A blob being written: its temporary file, removed unless `finish` keeps it (on errors explicitly, on
/// cancellation when dropped).
pub struct NewBlob {
    store: BlobStore,
    /// The file and the hash of what was written so far; away only while a write runs.
    sink: Option<Sink>,
    tmp: TempFile,
    /// Bytes written in all, once `flush` ran.
    size: u64,
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
        let moving = self.tmp.0.clone().expect("the temporary file is still ours");
        if let Some(bucket) = &self.store.bucket {
            let sent = bucket.put_file(&sha256, &moving, self.size).await;
            // The temporary file goes either way: the bucket has the bytes, or the upload failed.
            self.discard().await;
            return sent.map(|()| sha256);
        }
        let stored = self.store.path(&sha256);
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
        let (sha256, size) = web::block(move || -> std::io::Result<(String, u64)> {
            let mut file = file;
            let mut hasher = hasher;
            file.write_all(&last)?;
            hasher.update(&last);
            file.sync_all()?;
            Ok((format!("{:x}", hasher.finalize()), file.metadata()?.len()))
        })
        .await?
        .map_err(|e| io_error(e, "cannot write an attachment"))?;
        self.size = size;
        Ok(sha256)
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
