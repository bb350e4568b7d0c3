//! The `webhook-ingestor` binary: `omnistream webhook-ingestor` under its own name.

use omnistream_api::app::{Application, Role};
use omnistream_api::config::Config;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::from_env()?;
    omnistream_api::telemetry::init(config.log_json);
    Application::build_as(config, Role::Ingestor)
        .await?
        .run_until_stopped()
        .await?;
    Ok(())
}
