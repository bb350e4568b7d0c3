//! Which conversations a caller may see: all with `conversations.view_all`, otherwise their
//! own, unassigned ones and their divisions'. Every conversation route goes through here.

use omnistream_domain::Permission;
use omnistream_projections::inbox::conversation_queries::{self, ConversationRow, Visibility};
use omnistream_projections::inbox::divisions;

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The caller's visibility.
pub async fn of(state: &AppState, principal: &Principal) -> ApiResult<Visibility> {
    if principal.permissions.contains(&Permission::ConversationsViewAll) {
        return Ok(Visibility::All);
    }
    let Some(agent_id) = principal.agent_id() else {
        return Ok(Visibility::All);
    };
    let division_ids = divisions::of_agent(&state.pool, principal.scope()?, agent_id).await?;
    Ok(Visibility::Limited { agent_id, division_ids })
}

/// What answers read under the caller's visibility are kept under: one key for everyone who
/// sees every conversation, one per agent otherwise (an agent's divisions are in the inbox
/// model, so a cached answer goes stale with them).
pub fn cache_key(principal: &Principal) -> String {
    match principal.agent_id() {
        Some(agent_id) if !principal.permissions.contains(&Permission::ConversationsViewAll) => {
            format!("agent {agent_id}")
        }
        _ => "all".to_owned(),
    }
}

/// A conversation the caller may see, waiting (bounded) for `position` first; 404 otherwise.
pub async fn conversation(
    state: &AppState,
    principal: &Principal,
    id: uuid::Uuid,
    position: Option<i64>,
) -> ApiResult<ConversationRow> {
    super::consistency::wait_for_position(state, "inbox", position).await?;
    let visibility = of(state, principal).await?;
    conversation_queries::get(&state.pool, principal.scope()?, &visibility, id)
        .await?
        .ok_or_else(|| ApiError::not_found("conversation"))
}
