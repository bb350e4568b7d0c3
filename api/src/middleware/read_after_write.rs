//! Read after write through the query caches: a state-changing request that succeeded counts
//! as a change of its caller's organization at once (`ChangeFeed::written`), so an answer
//! cached before it is not served after it, even while its read-model announcements are
//! still on their way. The caller is resolved here, once, for the handler to reuse.

use poem::http::Method;
use poem::{Endpoint, IntoResponse, Request, Response};

use crate::auth::{resolve, Resolved};
use crate::state::SharedState;

/// The middleware function, used with `poem::EndpointExt::around`.
pub async fn around<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    let changes_state = matches!(
        *req.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    let state = req.data::<SharedState>().cloned();
    let (true, Some(state)) = (changes_state, state) else {
        return next.call(req).await.map(IntoResponse::into_response);
    };
    // A refused credential is the handler's to answer (401 with its own message).
    let tenant = match resolve(&state, &req).await {
        Ok(principal) => {
            let tenant = principal.as_ref().and_then(|p| p.tenant_id);
            req.extensions_mut().insert(Resolved(principal));
            tenant
        }
        Err(_) => None,
    };
    let response = next.call(req).await.map(IntoResponse::into_response);
    if let (Some(tenant), Ok(response)) = (tenant, &response) {
        if response.status().is_success() {
            state.changes.written(tenant);
        }
    }
    response
}
