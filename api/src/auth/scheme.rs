//! The OpenAPI security schemes: `X-API-Key` or `Authorization: Bearer <session token>`.

use poem::Request;
use poem_openapi::auth::{ApiKey, Bearer};
use poem_openapi::SecurityScheme;

use super::principal::{resolve, Principal};
use crate::state::SharedState;

/// An API key created at `POST /api/api-keys`.
#[derive(SecurityScheme)]
#[oai(ty = "api_key", key_name = "X-API-Key", key_in = "header", checker = "check_api_key")]
pub struct ApiKeyAuth(Principal);

/// A session token from `POST /api/auth/login`.
#[derive(SecurityScheme)]
#[oai(ty = "bearer", checker = "check_bearer")]
pub struct SessionAuth(Principal);

/// Either credential.
#[derive(SecurityScheme)]
pub enum Auth {
    /// By API key.
    ApiKey(ApiKeyAuth),
    /// By session token.
    Session(SessionAuth),
}

impl Auth {
    /// The authenticated principal.
    pub fn principal(&self) -> &Principal {
        match self {
            Auth::ApiKey(ApiKeyAuth(p)) | Auth::Session(SessionAuth(p)) => p,
        }
    }
}

async fn principal_of(req: &Request) -> poem::Result<Principal> {
    let state = req
        .data::<SharedState>()
        .ok_or_else(|| poem::Error::from_status(poem::http::StatusCode::INTERNAL_SERVER_ERROR))?;
    match resolve(state, req).await {
        Ok(Some(principal)) => Ok(principal),
        Ok(None) => Err(poem::Error::from_string(
            "send an API key in X-API-Key or a session token in Authorization: Bearer",
            poem::http::StatusCode::UNAUTHORIZED,
        )),
        Err(error) => Err(poem::Error::from_response(poem::IntoResponse::into_response(error))),
    }
}

async fn check_api_key(req: &Request, _key: ApiKey) -> poem::Result<Principal> {
    principal_of(req).await
}

async fn check_bearer(req: &Request, _token: Bearer) -> poem::Result<Principal> {
    principal_of(req).await
}
