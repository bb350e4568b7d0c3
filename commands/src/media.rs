//! Media uploads: the file is written to the store by its content hash (per tenant, so equal
//! files are kept once), then the upload is recorded as an event.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{GetOptions, GetRange, ObjectStore, PutPayload};
use omnistream_domain::media::{Media, MediaCommand, MediaUploaded};
use omnistream_domain::DomainError;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{CommandBus, CommandContext, CommandError, Executed};

/// Where media files are kept, by tenant and content hash (`<tenant>/<sha256>`): a folder on
/// the local disk, or an S3-compatible bucket, both through the `object_store` crate.
#[derive(Debug, Clone)]
pub struct MediaStore {
    objects: Arc<dyn ObjectStore>,
}

/// A failure of the media store.
#[derive(Debug, thiserror::Error)]
#[error("media store: {0}")]
pub struct MediaStoreError(String);

impl From<object_store::Error> for MediaStoreError {
    fn from(error: object_store::Error) -> Self {
        Self(error.to_string())
    }
}

impl MediaStore {
    /// A folder on the local disk (created if missing).
    pub fn local(root: &std::path::Path) -> Result<Self, MediaStoreError> {
        std::fs::create_dir_all(root).map_err(|e| MediaStoreError(format!("{}: {e}", root.display())))?;
        Ok(Self {
            objects: Arc::new(LocalFileSystem::new_with_prefix(root)?),
        })
    }

    /// A bucket of an S3-compatible service, from `s3://bucket[/prefix][?key=value&...]`.
    /// Settings come from the usual `AWS_*` variables (`AWS_ACCESS_KEY_ID`,
    /// `AWS_SECRET_ACCESS_KEY`, `AWS_REGION`, `AWS_ENDPOINT_URL`, `AWS_ALLOW_HTTP`), and the
    /// query may set any of `object_store`'s S3 keys (`endpoint`, `region`, `allow_http`, ...).
    pub fn s3(url: &str) -> Result<Self, MediaStoreError> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| MediaStoreError(format!("{url} is not an s3:// address")))?;
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(MediaStoreError(format!("{url} names no bucket")));
        }
        let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key: AmazonS3ConfigKey = key
                .parse()
                .map_err(|_| MediaStoreError(format!("{key} is not an S3 setting")))?;
            builder = builder.with_config(key, value);
        }
        let bucket = builder.build()?;
        let prefix = prefix.trim_matches('/');
        let objects: Arc<dyn ObjectStore> = if prefix.is_empty() {
            Arc::new(bucket)
        } else {
            Arc::new(PrefixStore::new(bucket, prefix))
        };
        Ok(Self { objects })
    }

    /// Where a tenant's file with this hash lives. Hashes are hex, tenants UUIDs: no
    /// caller-chosen text reaches the name.
    fn location(tenant_id: Uuid, sha256: &str) -> ObjectPath {
        ObjectPath::from(format!("{tenant_id}/{sha256}"))
    }

    /// Stores content unless a file with its hash is there already.
    pub async fn save(&self, tenant_id: Uuid, sha256: &str, content: Bytes) -> Result<(), MediaStoreError> {
        let location = Self::location(tenant_id, sha256);
        match self.objects.head(&location).await {
            Ok(_) => return Ok(()),
            Err(object_store::Error::NotFound { .. }) => {}
            Err(other) => return Err(other.into()),
        }
        self.objects.put(&location, PutPayload::from(content)).await?;
        Ok(())
    }

    /// Streams a file, whole or the byte range `range` (end exclusive).
    pub async fn open(
        &self,
        tenant_id: Uuid,
        sha256: &str,
        range: Option<Range<u64>>,
    ) -> Result<BoxStream<'static, Result<Bytes, MediaStoreError>>, MediaStoreError> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let found = self
            .objects
            .get_opts(&Self::location(tenant_id, sha256), options)
            .await?;
        Ok(found.into_stream().map_err(MediaStoreError::from).boxed())
    }
}

/// A file to upload.
#[derive(Debug)]
pub struct Upload {
    /// Its name.
    pub file_name: String,
    /// Its accepted content type.
    pub content_type: String,
    /// Its content.
    pub content: Bytes,
    /// Who uploads it.
    pub uploaded_by: Option<Uuid>,
}

/// Stores a file and records its upload; answers the media id and its hash.
pub async fn upload(
    bus: &CommandBus,
    store: &MediaStore,
    ctx: &CommandContext,
    upload: Upload,
) -> Result<(Executed, String), CommandError> {
    let tenant_id = ctx
        .scope
        .tenant_id()
        .ok_or_else(|| DomainError::Rule("media belong to an organization".into()))?;
    let sha256 = hex::encode(Sha256::digest(&upload.content));
    let media_id = Uuid::now_v7();
    let command = MediaCommand::Upload(MediaUploaded {
        media_id,
        tenant_id,
        file_name: upload.file_name,
        content_type: upload.content_type,
        size: upload.content.len() as i64,
        sha256: sha256.clone(),
        uploaded_by: upload.uploaded_by,
    });
    // Validate before storing; the file is stored before its event, so an event never
    // points at a missing file.
    omnistream_domain::Aggregate::decide(&Media::default(), command.clone())?;
    store
        .save(tenant_id, &sha256, upload.content)
        .await
        .map_err(|e| CommandError::Storage(e.to_string()))?;
    let executed = bus.create::<Media>(ctx, media_id, command).await?;
    Ok((executed, sha256))
}
