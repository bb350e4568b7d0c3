//! The media aggregate: an uploaded file, stored by content hash, described by its event.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{Aggregate, DomainError, DomainEvent};

/// Content types OmniStream accepts, as the channels can carry them.
pub const ALLOWED_TYPES: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/gif",
    "video/mp4",
    "video/3gpp",
    "audio/mpeg",
    "audio/ogg",
    "audio/aac",
    "audio/mp4",
    "audio/amr",
    "application/pdf",
    "text/plain",
    "text/csv",
    "application/msword",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.ms-excel",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
];

/// A declared content type without parameters, lower-cased, if it is one OmniStream accepts.
pub fn accepted_type(declared: &str) -> Option<&'static str> {
    let essence = declared.split(';').next().unwrap_or_default().trim().to_lowercase();
    ALLOWED_TYPES.iter().copied().find(|t| *t == essence)
}

/// Event: a file was uploaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MediaUploaded {
    /// The media's id.
    pub media_id: Uuid,
    /// The organization.
    pub tenant_id: Uuid,
    /// The file's name as uploaded.
    pub file_name: String,
    /// Its content type.
    pub content_type: String,
    /// Its size in bytes.
    pub size: i64,
    /// Hex SHA-256 of its content: where it is stored.
    pub sha256: String,
    /// Who uploaded it.
    pub uploaded_by: Option<Uuid>,
}

/// The events of a media stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub enum MediaEvent {
    /// See [`MediaUploaded`].
    MediaUploaded(MediaUploaded),
}

impl DomainEvent for MediaEvent {
    fn event_type(&self) -> &'static str {
        match self {
            MediaEvent::MediaUploaded(_) => "MediaUploaded",
        }
    }
}

/// What can be asked of a media file.
#[derive(Debug, Clone)]
pub enum MediaCommand {
    /// Record an upload.
    Upload(MediaUploaded),
}

/// A media file's state.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Media {
    /// Uploaded.
    pub uploaded: bool,
}

impl Aggregate for Media {
    type Command = MediaCommand;
    type Event = MediaEvent;
    const STREAM_PREFIX: &'static str = "media";
    const NAME: &'static str = "media";

    fn decide(&self, command: MediaCommand) -> Result<Vec<MediaEvent>, DomainError> {
        let MediaCommand::Upload(uploaded) = command;
        if self.uploaded {
            return Err(DomainError::AlreadyExists("media exists".into()));
        }
        let file_name: String = uploaded
            .file_name
            .trim()
            .chars()
            .filter(|c| !c.is_control() && *c != '/' && *c != '\\')
            .take(255)
            .collect();
        if uploaded.size <= 0 {
            return Err(DomainError::invalid("file", "the file is empty"));
        }
        Ok(vec![MediaEvent::MediaUploaded(MediaUploaded {
            file_name: if file_name.is_empty() { "file".into() } else { file_name },
            ..uploaded
        })])
    }

    fn apply(mut self, event: &MediaEvent) -> Self {
        match event {
            MediaEvent::MediaUploaded(_) => self.uploaded = true,
        }
        self
    }

    fn exists(&self) -> bool {
        self.uploaded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_are_matched_without_parameters() {
        assert_eq!(accepted_type("Image/PNG"), Some("image/png"));
        assert_eq!(accepted_type("text/plain; charset=utf-8"), Some("text/plain"));
        assert_eq!(accepted_type("application/x-msdownload"), None);
    }

    #[test]
    fn file_names_lose_path_separators() {
        let events = Media::default()
            .decide(MediaCommand::Upload(MediaUploaded {
                media_id: Uuid::nil(),
                tenant_id: Uuid::nil(),
                file_name: "../../etc/passwd".into(),
                content_type: "text/plain".into(),
                size: 3,
                sha256: "00".into(),
                uploaded_by: None,
            }))
            .unwrap();
        let MediaEvent::MediaUploaded(m) = &events[0];
        assert_eq!(m.file_name, "....etcpasswd");
    }
}
