//! Media tag: multipart uploads with size and type limits, stored by content hash, and
//! downloads for members of the same organization, with range requests.

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use omnistream_commands::media::{self as media_commands, Upload};
use omnistream_domain::media::{accepted_type, ALLOWED_TYPES};
use omnistream_domain::Permission;
use omnistream_projections::inbox::media as media_queries;
use poem::web::Data;
use poem::Body;
use poem_openapi::param::{Header, Path};
use poem_openapi::payload::{Binary, Json, Response};
use poem_openapi::types::multipart::Upload as UploadedFile;
use poem_openapi::{ApiResponse, Multipart, Object, OpenApi};
use uuid::Uuid;

use super::consistency::wait_for_position;
use super::ApiTags;
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult, ErrorResponse};
use crate::state::SharedState;

/// The upload form: one file in the part `file`.
#[derive(Debug, Multipart)]
pub struct MediaUpload {
    /// The file; its part's content type must be an accepted one.
    file: UploadedFile,
}

/// An uploaded file.
#[derive(Debug, Clone, Object)]
pub struct MediaUploadResponse {
    /// The media id, for `media_ids` of a message.
    pub id: Uuid,
    /// The file's name.
    pub file_name: String,
    /// Its content type.
    pub content_type: String,
    /// Its size in bytes.
    pub size: i64,
    /// Hex SHA-256 of its content.
    pub sha256: String,
    /// Where to download it.
    pub url: String,
    /// Uploaded.
    pub created_at: DateTime<Utc>,
}

/// Upload answers.
#[derive(ApiResponse)]
pub enum MediaUploaded {
    /// Stored.
    #[oai(status = 201)]
    Created(Json<MediaUploadResponse>),
    /// Over the size limit (`payload_too_large`).
    #[oai(status = 413)]
    TooLarge(Json<ErrorResponse>),
    /// Not an accepted content type (`unsupported_media_type`).
    #[oai(status = 415)]
    UnsupportedType(Json<ErrorResponse>),
}

/// Download answers.
#[derive(ApiResponse)]
pub enum MediaContent {
    /// The whole file.
    #[oai(status = 200)]
    Full(Binary<Body>),
    /// The requested range.
    #[oai(status = 206)]
    Partial(Binary<Body>, #[oai(header = "Content-Range")] String),
    /// The range lies outside the file (`range_not_satisfiable`).
    #[oai(status = 416)]
    NotSatisfiable(Json<ErrorResponse>, #[oai(header = "Content-Range")] String),
}

/// Parses a single `bytes=` range against a size; `None` when unsatisfiable.
fn byte_range(header: &str, size: u64) -> Option<(u64, u64)> {
    let spec = header.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    let (start, end) = match (start.trim(), end.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().ok()?;
            (size.checked_sub(n.min(size))?, size.checked_sub(1)?)
        }
        (start, "") => (start.parse().ok()?, size.checked_sub(1)?),
        (start, end) => (start.parse().ok()?, end.parse::<u64>().ok()?.min(size.checked_sub(1)?)),
    };
    (start <= end && end < size).then_some((start, end))
}

/// Media operations.
pub struct MediaApi;

#[OpenApi(prefix_path = "/api/media", tag = "ApiTags::Media")]
impl MediaApi {
    /// Uploads a file (multipart field `file`) of an accepted type, up to the size limit
    /// (16 MiB by default) (needs `media.upload`).
    #[oai(path = "/", method = "post")]
    async fn upload(&self, state: Data<&SharedState>, auth: Auth, form: MediaUpload) -> ApiResult<MediaUploaded> {
        let principal = auth.principal().require(Permission::MediaUpload)?;
        let declared = form
            .file
            .content_type()
            .unwrap_or("application/octet-stream")
            .to_owned();
        let Some(content_type) = accepted_type(&declared) else {
            return Ok(MediaUploaded::UnsupportedType(Json(ErrorResponse::new(
                "unsupported_media_type",
                format!("{declared} is not accepted; accepted: {}", ALLOWED_TYPES.join(", ")),
            ))));
        };
        if form.file.size() > state.config.media_max_bytes {
            return Ok(MediaUploaded::TooLarge(Json(ErrorResponse::new(
                "payload_too_large",
                format!("files are at most {} bytes", state.config.media_max_bytes),
            ))));
        }
        let file_name = form.file.file_name().unwrap_or("file").to_owned();
        let content = form.file.into_vec().await.map_err(|e| ApiError::internal(&e))?.into();
        let ctx = principal.command_context()?;
        let upload = Upload {
            file_name,
            content_type: content_type.to_owned(),
            content,
            uploaded_by: principal.agent_id(),
        };
        let (executed, _) = media_commands::upload(&state.bus, &state.media, &ctx, upload).await?;
        wait_for_position(state.0, "inbox", executed.position).await?;
        let row = media_queries::get(&state.pool, principal.scope()?, executed.id)
            .await?
            .ok_or_else(|| ApiError::not_found("media"))?;
        Ok(MediaUploaded::Created(Json(MediaUploadResponse {
            url: format!("/api/media/{}", row.id),
            id: row.id,
            file_name: row.file_name,
            content_type: row.content_type,
            size: row.size,
            sha256: row.sha256,
            created_at: row.created_at,
        })))
    }

    /// Downloads a file of your organization, whole or a `Range: bytes=` part (needs
    /// `conversations.view`).
    #[oai(path = "/:id", method = "get")]
    async fn download(
        &self,
        state: Data<&SharedState>,
        auth: Auth,
        id: Path<Uuid>,
        /// A single byte range, such as `bytes=0-1023`.
        #[oai(name = "Range")]
        range: Header<Option<String>>,
    ) -> ApiResult<Response<MediaContent>> {
        let principal = auth.principal().require(Permission::ConversationsView)?;
        let scope = principal.scope()?;
        let media = media_queries::get(&state.pool, scope, id.0)
            .await?
            .ok_or_else(|| ApiError::not_found("media"))?;
        let size = u64::try_from(media.size).unwrap_or_default();
        let disposition = format!("inline; filename=\"{}\"", media.file_name.replace(['"', '\\'], "_"));
        let (range, content_range) = match range.0.as_deref() {
            None => (None, None),
            Some(header) => match byte_range(header, size) {
                Some((start, end)) => (Some(start..end + 1), Some(format!("bytes {start}-{end}/{size}"))),
                None => {
                    return Ok(Response::new(MediaContent::NotSatisfiable(
                        Json(ErrorResponse::new(
                            "range_not_satisfiable",
                            format!("the file has {size} bytes"),
                        )),
                        format!("bytes */{size}"),
                    )))
                }
            },
        };
        // Streamed from the store: the file is never held in memory whole.
        let stream = state
            .media
            .open(scope.tenant_id(), &media.sha256, range)
            .await
            .map_err(|e| ApiError::internal(&e))?;
        let body = Binary(Body::from_bytes_stream(stream.map_err(std::io::Error::other)));
        let answer = match content_range {
            None => MediaContent::Full(body),
            Some(content_range) => MediaContent::Partial(body, content_range),
        };
        Ok(Response::new(answer)
            .header("Content-Type", media.content_type)
            .header("Accept-Ranges", "bytes")
            .header("ETag", format!("\"{}\"", media.sha256))
            .header("Content-Disposition", disposition)
            .header("Cache-Control", "private, max-age=3600"))
    }
}

#[cfg(test)]
mod tests {
    use super::byte_range;

    #[test]
    fn byte_ranges_follow_rfc_9110() {
        assert_eq!(byte_range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(byte_range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(byte_range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(byte_range("bytes=95-200", 100), Some((95, 99)));
        assert_eq!(byte_range("bytes=100-", 100), None);
        assert_eq!(byte_range("bytes=5-1", 100), None);
        assert_eq!(byte_range("bytes=0-1,5-6", 100), None);
        assert_eq!(byte_range("items=0-1", 100), None);
    }
}
