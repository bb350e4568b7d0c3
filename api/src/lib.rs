//! OmniStream's HTTP API and the `omnistream` binary's commands.
//!
//! `main.rs` only parses the command line; everything else lives here so that tests start
//! the very same application ([`app::Application`]) on port 0.

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod middleware;
pub mod query_cache;
pub mod replay;
pub mod routes;
pub mod seed;
pub mod state;
pub mod telemetry;
pub mod window_rules;
pub mod worker;

/// Every binary built on this crate allocates with mimalloc (see the workspace manifest).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
