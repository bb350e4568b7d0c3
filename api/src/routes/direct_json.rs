//! JSON responses serialized with serde into bytes (which a cache may keep and send again),
//! documented like `poem_openapi::payload::Json`. poem-openapi's own `Json` first builds a
//! `serde_json::Value` tree (a map with owned keys per object) and then serializes that; for
//! a response of thousands of small objects (a year's daily series) building the tree costs
//! more than everything else the request does.
//!
//! The type must serialize exactly as its `ToJSON` does (same field names, same formats): a
//! test of each type used here compares the two.

use std::marker::PhantomData;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use poem::http::header::CONTENT_TYPE;
use poem::{IntoResponse, Response};
use poem_openapi::payload::{Json, Payload};
use poem_openapi::registry::{MetaResponses, MetaSchemaRef, Registry};
use poem_openapi::types::{ToJSON, Type};
use poem_openapi::ApiResponse;
use serde::{Serialize, Serializer};

/// A `200` JSON response serialized ahead of time, documented as `T`; a query cache may keep
/// it and send it many times (cloning it shares the bytes).
#[derive(Debug)]
pub struct SerializedJson<T> {
    body: Bytes,
    schema: PhantomData<fn() -> T>,
}

impl<T> Clone for SerializedJson<T> {
    fn clone(&self) -> Self {
        Self {
            body: self.body.clone(),
            schema: PhantomData,
        }
    }
}

impl<T: Serialize> SerializedJson<T> {
    /// `value` serialized with serde.
    pub fn of(value: &T) -> Result<Self, serde_json::Error> {
        Ok(Self {
            body: serde_json::to_vec(value)?.into(),
            schema: PhantomData,
        })
    }
}

impl<T: Type> Payload for SerializedJson<T> {
    const CONTENT_TYPE: &'static str = <Json<T> as Payload>::CONTENT_TYPE;

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T> IntoResponse for SerializedJson<T> {
    fn into_response(self) -> Response {
        Response::builder()
            .header(CONTENT_TYPE, <Json<serde_json::Value> as Payload>::CONTENT_TYPE)
            .body(self.body)
    }
}

impl<T: ToJSON + Serialize> ApiResponse for SerializedJson<T> {
    fn meta() -> MetaResponses {
        <Json<T> as ApiResponse>::meta()
    }

    fn register(registry: &mut Registry) {
        <Json<T> as ApiResponse>::register(registry);
    }
}

/// Serializes an instant as poem-openapi's `ToJSON` does (`DateTime::to_rfc3339`: `+00:00`,
/// where chrono's serde would write `Z`): `#[serde(serialize_with = "rfc3339")]`.
pub fn rfc3339<S: Serializer>(at: &DateTime<Utc>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&at.to_rfc3339())
}

/// [`rfc3339`] for an optional instant (`null` when absent).
pub fn rfc3339_option<S: Serializer>(at: &Option<DateTime<Utc>>, serializer: S) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => rfc3339(at, serializer),
        None => serializer.serialize_none(),
    }
}
