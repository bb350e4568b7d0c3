//! Media uploads: the file is written to the store by its content hash (per tenant, so equal
//! files are kept once), then the upload is recorded as an event.

use std::path::{Path, PathBuf};

use omnistream_domain::media::{Media, MediaCommand, MediaUploaded};
use omnistream_domain::DomainError;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{CommandBus, CommandContext, CommandError, Executed};

/// Media kept on the local disk under a root folder: `<root>/<tenant>/<sha256>`.
#[derive(Debug, Clone)]
pub struct LocalMediaStore {
    root: PathBuf,
}

impl LocalMediaStore {
    /// A store rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Where a tenant's file with this hash lives. Hashes are hex, tenants UUIDs: no
    /// caller-chosen text reaches the path.
    pub fn path(&self, tenant_id: Uuid, sha256: &str) -> PathBuf {
        self.root.join(tenant_id.to_string()).join(sha256)
    }

    /// Writes content (atomically: a temporary file renamed into place) unless it is there.
    pub async fn save(&self, tenant_id: Uuid, sha256: &str, content: &[u8]) -> std::io::Result<PathBuf> {
        let path = self.path(tenant_id, sha256);
        if tokio::fs::try_exists(&path).await.unwrap_or(false) {
            return Ok(path);
        }
        let folder = path.parent().unwrap_or(Path::new("."));
        tokio::fs::create_dir_all(folder).await?;
        let temporary = folder.join(format!(".{}.part", Uuid::now_v7()));
        tokio::fs::write(&temporary, content).await?;
        tokio::fs::rename(&temporary, &path).await?;
        Ok(path)
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
    pub content: Vec<u8>,
    /// Who uploads it.
    pub uploaded_by: Option<Uuid>,
}

/// Stores a file and records its upload; answers the media id and its hash.
pub async fn upload(
    bus: &CommandBus,
    store: &LocalMediaStore,
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
    // Validate before touching the disk; the file is stored before its event, so an event
    // never points at a missing file.
    omnistream_domain::Aggregate::decide(&Media::default(), command.clone())?;
    store
        .save(tenant_id, &sha256, &upload.content)
        .await
        .map_err(|e| CommandError::Storage(e.to_string()))?;
    let executed = bus.create::<Media>(ctx, media_id, command).await?;
    Ok((executed, sha256))
}
