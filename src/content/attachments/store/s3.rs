//! Blobs as the objects of an S3-compatible bucket (`HANDBOOK_ATTACHMENT_STORE=s3://BUCKET[/PREFIX]`), reached
//! with the standard `AWS_*` variables (`AmazonS3Builder::from_env`): `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//! `AWS_REGION`, `AWS_ENDPOINT_URL` and `AWS_ALLOW_HTTP` for a plain-HTTP endpoint.
//!
//! An object is written once: a blob the bucket has is not sent again. A finished upload is sent from its temporary
//! file in parts (a multipart upload, a few parts in flight at a time), or in one request when it is small; reads
//! stream the object, or the range asked for.

use std::ops::Range;
use std::path::Path as FilePath;
use std::sync::Arc;
use std::time::Duration;

use actix_web::web::{self, Bytes};
use anyhow::Context as _;
use futures_util::stream::BoxStream;
use futures_util::StreamExt as _;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path;
use object_store::{
    BackoffConfig, ClientOptions, GetOptions, GetRange, ObjectStore, ObjectStoreExt as _, PutPayload, RetryConfig,
    WriteMultipart,
};

use crate::error::AppError;

/// Size of each part of a multipart upload (S3 takes parts of 5 MiB and more, the last one excepted); a blob up to
/// this size is sent in one request.
const PART: usize = 8 * 1024 * 1024;
/// Parts of one upload in flight at once: with the part being read, what an upload holds in memory is bounded by
/// `(PARTS_IN_FLIGHT + 1) * PART`, whatever the size of the file.
const PARTS_IN_FLIGHT: usize = 2;
/// How long the start-up check may take, retries included.
const CHECK_TIMEOUT: Duration = Duration::from_secs(20);

/// The bucket and the prefix of our objects.
#[derive(Clone)]
pub(super) struct Bucket {
    client: Arc<AmazonS3>,
    /// `s3://BUCKET[/PREFIX]`, for messages.
    name: String,
    /// Without slashes at either end; empty for the bucket's root.
    prefix: String,
    /// `AWS_ENDPOINT_URL`, for messages.
    endpoint: String,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bucket").field("name", &self.name).finish_non_exhaustive()
    }
}

impl Bucket {
    /// The client of `bucket`, configured by the `AWS_*` variables of `env` (as `AmazonS3Builder::from_env` reads
    /// the process's). No request is made.
    pub(super) fn new(
        bucket: &str,
        prefix: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Bucket> {
        let name = if prefix.is_empty() { format!("s3://{bucket}") } else { format!("s3://{bucket}/{prefix}") };
        // A download is read at the pace of the client: no limit on a whole request, only on connecting; a few
        // retries, within seconds, rather than object_store's default of minutes.
        let options = ClientOptions::new().with_timeout_disabled().with_connect_timeout(Duration::from_secs(5));
        let retry =
            RetryConfig { backoff: BackoffConfig::default(), max_retries: 4, retry_timeout: Duration::from_secs(15) };
        let mut builder = AmazonS3Builder::new().with_client_options(options).with_retry(retry);
        let mut endpoint = None;
        for (key, value) in env.into_iter().filter(|(key, _)| key.starts_with("AWS_")) {
            if key == "AWS_ENDPOINT_URL" {
                endpoint = Some(value.clone());
            }
            if let Ok(config) = key.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
                builder = builder.with_config(config, value);
            }
        }
        let client = builder
            .with_bucket_name(bucket)
            .build()
            .with_context(|| format!("HANDBOOK_ATTACHMENT_STORE={name}: the AWS_* variables do not make a client"))?;
        let endpoint = endpoint.unwrap_or_else(|| "unset: Amazon S3".to_owned());
        Ok(Bucket { client: Arc::new(client), name, prefix: prefix.to_owned(), endpoint })
    }

    /// The object of blob `sha256`: `[PREFIX/]<first two hex digits>/<sha256>`, the data folder's layout.
    fn key(&self, sha256: &str) -> Path {
        let relative = format!("{}/{sha256}", &sha256[..2]);
        if self.prefix.is_empty() {
            Path::from(relative)
        } else {
            Path::from(format!("{}/{relative}", self.prefix))
        }
    }

    /// The bucket exists and lets us list our prefix (one listing request, retries included, within
    /// `CHECK_TIMEOUT`).
    pub(super) async fn check(&self) -> anyhow::Result<()> {
        let prefix = (!self.prefix.is_empty()).then(|| Path::from(self.prefix.as_str()));
        let listed = tokio::time::timeout(CHECK_TIMEOUT, self.client.list_with_delimiter(prefix.as_ref())).await;
        match listed {
            Ok(Ok(_)) => Ok(()),
            // The error's own text names its causes: not the chain again.
            Ok(Err(error)) => Err(anyhow::anyhow!(
                "HANDBOOK_ATTACHMENT_STORE={}: the bucket cannot be listed (does it exist? do AWS_ACCESS_KEY_ID, \
                 AWS_SECRET_ACCESS_KEY, AWS_REGION and AWS_ENDPOINT_URL name it and a key that may use it?): {error}",
                self.name
            )),
            Err(_) => Err(anyhow::anyhow!(
                "HANDBOOK_ATTACHMENT_STORE={}: the object store did not answer within {} s (AWS_ENDPOINT_URL={})",
                self.name,
                CHECK_TIMEOUT.as_secs(),
                self.endpoint,
            )),
        }
    }

    /// One metadata request answered within `timeout`: a missing object is an answer too.
    pub(super) async fn reachable(&self, timeout: Duration) -> bool {
        let probe = self.key("0000000000000000000000000000000000000000000000000000000000000000");
        let answer = tokio::time::timeout(timeout, self.client.head(&probe)).await;
        match answer {
            Ok(Ok(_)) | Ok(Err(object_store::Error::NotFound { .. })) => true,
            Ok(Err(error)) => {
                tracing::warn!(store = %self.name, %error, "the attachment store does not answer");
                false
            }
            Err(_) => {
                tracing::warn!(store = %self.name, "the attachment store did not answer in time");
                false
            }
        }
    }

    /// Whether the bucket has the blob `sha256`.
    async fn has(&self, sha256: &str) -> Result<bool, AppError> {
        match self.client.head(&self.key(sha256)).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(error) => Err(self.failed(error, "look for an attachment")),
        }
    }

    /// Sends the finished upload `file` (`size` bytes, hashed to `sha256`) unless the bucket has it.
    pub(super) async fn put_file(&self, sha256: &str, file: &FilePath, size: u64) -> Result<(), AppError> {
        if self.has(sha256).await? {
            return Ok(());
        }
        let key = self.key(sha256);
        let mut reader = Reader::open(file).await?;
        if size <= PART as u64 {
            let bytes = reader.next(PART).await?;
            self.client.put(&key, PutPayload::from(bytes)).await.map_err(|e| self.failed(e, "store an attachment"))?;
            return Ok(());
        }
        let upload = self.client.put_multipart(&key).await.map_err(|e| self.failed(e, "start an attachment upload"))?;
        let mut parts = WriteMultipart::new_with_chunk_size(upload, PART);
        let sent = async {
            loop {
                parts.wait_for_capacity(PARTS_IN_FLIGHT).await.map_err(|e| self.failed(e, "store an attachment"))?;
                let bytes = reader.next(PART).await?;
                if bytes.is_empty() {
                    return Ok(());
                }
                parts.put(bytes);
            }
        }
        .await;
        match sent {
            Ok(()) => {
                parts.finish().await.map_err(|e| self.failed(e, "complete an attachment upload"))?;
                Ok(())
            }
            Err(error) => {
                if let Err(abort) = parts.abort().await {
                    tracing::warn!(store = %self.name, error = %abort, "could not abort an attachment upload");
                }
                Err(error)
            }
        }
    }

    /// Stores `bytes` under `sha256` unless the bucket has them, blocking the calling thread: a blocking thread of
    /// the runtime the client is used in (`web::block`), never one of its workers.
    pub(super) fn put_blocking(&self, sha256: &str, bytes: Bytes) -> Result<(), AppError> {
        let put = async {
            if !self.has(sha256).await? {
                let key = self.key(sha256);
                self.client
                    .put(&key, PutPayload::from(bytes))
                    .await
                    .map_err(|e| self.failed(e, "store an attachment"))?;
            }
            Ok(())
        };
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            AppError::Internal(anyhow::anyhow!("attachments are put into a bucket from a blocking thread of a runtime"))
        })?;
        runtime.block_on(put)
    }

    /// The object of `sha256`, to be read.
    pub(super) fn object(&self, sha256: &str) -> Object {
        Object { bucket: self.clone(), sha256: sha256.to_owned() }
    }

    /// An error of the object store, logged: to the client the service is unavailable (503), as when its database
    /// is, whether the store is down, refuses our key or lacks the bucket.
    fn failed(&self, error: object_store::Error, what: &str) -> AppError {
        tracing::warn!(store = %self.name, error = %error, "could not {what}");
        AppError::Unavailable
    }
}

/// A stored object, named but not yet read.
pub struct Object {
    bucket: Bucket,
    sha256: String,
}

impl Object {
    /// Streams the object, or the bytes `range` of it (one ranged GET).
    pub async fn read(
        &self,
        range: Option<Range<u64>>,
    ) -> Result<BoxStream<'static, Result<Bytes, object_store::Error>>, AppError> {
        let options = GetOptions::new().with_range(range.map(GetRange::Bounded));
        let key = self.bucket.key(&self.sha256);
        match self.bucket.client.get_opts(&key, options).await {
            Ok(found) => Ok(found.into_stream().boxed()),
            Err(object_store::Error::NotFound { .. }) => Err(AppError::Internal(anyhow::anyhow!(
                "attachment {} is recorded but {} has no object {key}",
                self.sha256,
                self.bucket.name
            ))),
            Err(error) => Err(self.bucket.failed(error, "read an attachment")),
        }
    }
}

/// A finished upload's temporary file, read in parts off the actix workers.
struct Reader(Option<std::fs::File>);

impl Reader {
    async fn open(path: &FilePath) -> Result<Reader, AppError> {
        let path = path.to_owned();
        let file = web::block(move || std::fs::File::open(path)).await?.map_err(|e| {
            AppError::Internal(anyhow::Error::new(e).context("cannot read back a temporary attachment file"))
        })?;
        Ok(Reader(Some(file)))
    }

    /// Up to `wanted` next bytes; empty at the end.
    async fn next(&mut self, wanted: usize) -> Result<Bytes, AppError> {
        use std::io::Read as _;
        let mut file = self.0.take().expect("the file is back after every read");
        let (file, read) = web::block(move || {
            let mut buffer = Vec::with_capacity(wanted);
            let read = (&mut file).take(wanted as u64).read_to_end(&mut buffer).map(|_| Bytes::from(buffer));
            (file, read)
        })
        .await?;
        self.0 = Some(file);
        read.map_err(|e| {
            AppError::Internal(anyhow::Error::new(e).context("cannot read back a temporary attachment file"))
        })
    }
}
