//! Read-your-writes: commands answer with the stream version (`X-Stream-Version`) and the
//! last global position (`X-Event-Position`); queries accept `X-Min-Position` (or
//! `min_version` for one resource) and wait, bounded, until the read model has caught up.

use omnistream_projections::wait;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Waits until `projection` has applied `position`, or answers 503 `not_caught_up`.
pub async fn wait_for_position(state: &AppState, projection: &str, position: Option<i64>) -> ApiResult<()> {
    let Some(position) = position else { return Ok(()) };
    if position < 0 {
        return Err(ApiError::validation(
            "X-Min-Position",
            "X-Min-Position must not be negative",
        ));
    }
    let reached = wait::until(state.config.read_wait, || {
        wait::has_applied(&state.pool, projection, position)
    })
    .await?;
    if reached {
        Ok(())
    } else {
        Err(ApiError::unavailable(
            "not_caught_up",
            format!("the {projection} read model has not reached position {position} yet; retry shortly"),
        ))
    }
}

/// Waits until `version_of` answers at least `min_version`, or answers 503 `not_caught_up`.
pub async fn wait_for_version<F, Fut>(state: &AppState, min_version: Option<i64>, mut version_of: F) -> ApiResult<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<i64>, omnistream_projections::ProjectionError>>,
{
    let Some(min_version) = min_version else { return Ok(()) };
    let reached = wait::until(state.config.read_wait, || {
        let fut = version_of();
        async move { Ok(fut.await?.is_some_and(|v| v >= min_version)) }
    })
    .await?;
    if reached {
        Ok(())
    } else {
        Err(ApiError::unavailable(
            "not_caught_up",
            format!("the resource has not reached version {min_version} yet; retry shortly"),
        ))
    }
}
