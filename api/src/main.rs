//! The `omnistream` binary.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = omnistream_api::cli::Cli::parse();
    omnistream_api::cli::run(cli).await
}
