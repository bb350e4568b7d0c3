//! The `omnistream` binary.

use clap::Parser;

/// mimalloc instead of the system allocator: requests and projection batches build and drop
/// many small JSON values, and glibc's allocator spent a quarter of the process's time on
/// them (measured with perf on the reports and the analytics catch-up).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = omnistream_api::cli::Cli::parse();
    omnistream_api::cli::run(cli).await
}
