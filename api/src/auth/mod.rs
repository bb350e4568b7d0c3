//! Authentication (API key or session token) and authorization (permission codes).

mod credential;
pub mod holder_cache;
mod principal;
mod scheme;

pub use principal::{resolve, Principal, PrincipalKind, Resolved};
pub use scheme::Auth;
