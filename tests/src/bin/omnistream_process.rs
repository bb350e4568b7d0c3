//! The `omnistream` binary, built within the tests package so the tests can run it as a
//! process of its own (and kill it with SIGKILL): cargo builds a package's binaries only for
//! that package's integration tests.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    omnistream_api::cli::run(omnistream_api::cli::Cli::parse()).await
}
