//! Closed-loop HTTP load on a running service, per scenario: `wrk` when it is installed (the
//! generator the inbox issue names; its C event loop leaves the shared cores to the service),
//! otherwise a generator of our own on reqwest. Both keep every connection busy for the
//! scenario's seconds and report requests, errors and latency percentiles.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use reqwest::{Client, Method};
use serde_json::{json, Value};

/// Which load generator to use.
#[derive(Debug, Clone, clap::Args)]
pub struct GeneratorArgs {
    /// Use the built-in reqwest generator even when `wrk` is installed.
    #[arg(long)]
    builtin: bool,
}

/// The load generator a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Generator {
    /// `wrk`, driven by a Lua script written per scenario.
    Wrk,
    /// reqwest on this process's runtime.
    Builtin,
}

impl Generator {
    /// `wrk` when installed and not declined.
    pub async fn choose(args: &GeneratorArgs) -> Generator {
        let installed = tokio::process::Command::new("wrk")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .await
            .is_ok();
        if installed && !args.builtin {
            Generator::Wrk
        } else {
            Generator::Builtin
        }
    }

    /// How the run's header names it.
    pub fn describe(self) -> &'static str {
        match self {
            Generator::Wrk => "wrk (2 threads, closed loop)",
            Generator::Builtin => "built-in reqwest generator (closed loop; install wrk for a lighter one)",
        }
    }
}

/// The paths a scenario's requests go to.
pub enum Paths {
    /// These, in turn.
    Cycle(Vec<String>),
    /// `{prefix}{first + (start + n) % count}{suffix}` for request `n`: a new one every time,
    /// among `count` numbers from `first`.
    Numbered {
        prefix: String,
        first: u64,
        count: u64,
        start: u64,
        suffix: String,
    },
}

impl Paths {
    /// One path, every time.
    pub fn one(path: impl Into<String>) -> Paths {
        Paths::Cycle(vec![path.into()])
    }

    fn nth(&self, n: u64) -> String {
        match self {
            Paths::Cycle(paths) => paths[(n % paths.len() as u64) as usize].clone(),
            Paths::Numbered {
                prefix,
                first,
                count,
                start,
                suffix,
            } => format!("{prefix}{}{suffix}", first + (start + n) % count),
        }
    }

    /// A Lua function `path(n)` answering what [`Paths::nth`] does.
    fn lua(&self) -> String {
        match self {
            Paths::Cycle(paths) => {
                let list: Vec<String> = paths.iter().map(|p| lua_string(p)).collect();
                format!(
                    "local paths = {{{}}}\nlocal function path(n) return paths[(n % #paths) + 1] end\n",
                    list.join(", ")
                )
            }
            Paths::Numbered {
                prefix,
                first,
                count,
                start,
                suffix,
            } => format!(
                "local function path(n) return {} .. string.format(\"%d\", {first} + ({start} + n) % {count}) .. {} end\n",
                lua_string(prefix),
                lua_string(suffix)
            ),
        }
    }
}

fn lua_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// One kind of request, repeated by every connection.
pub struct Scenario {
    /// What the table calls it.
    pub name: String,
    /// The method.
    pub method: Method,
    /// Where the requests go.
    pub paths: Paths,
    /// The JSON body, if any.
    pub body: Option<Value>,
}

/// What a scenario measured.
pub struct Measured {
    pub requests: u64,
    pub errors: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// A running service, its session token and how to load it.
pub struct Target {
    pub client: Client,
    pub base: String,
    pub token: String,
    pub generator: Generator,
}

impl Target {
    /// Logs the seeded admin in.
    pub async fn login(base: &str, email: &str, password: &str, generator: Generator) -> anyhow::Result<Target> {
        let client = Client::builder().pool_max_idle_per_host(1_000).build()?;
        let base = base.trim_end_matches('/').to_owned();
        let login: Value = client
            .post(format!("{base}/api/auth/login"))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await?
            .error_for_status()
            .context("login failed: seed the tenant first (omnistream seed)")?
            .json()
            .await?;
        let token = login["token"].as_str().context("no token")?.to_owned();
        Ok(Target {
            client,
            base,
            token,
            generator,
        })
    }

    /// A GET with the session, answering the JSON.
    pub async fn get_json(&self, path: &str) -> anyhow::Result<Value> {
        Ok(self
            .client
            .get(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?)
    }

    /// Runs `scenario` on `connections` closed-loop connections for `seconds`.
    pub async fn measure(&self, scenario: Arc<Scenario>, connections: usize, seconds: u64) -> anyhow::Result<Measured> {
        match self.generator {
            Generator::Wrk => self.measure_with_wrk(&scenario, connections, seconds).await,
            Generator::Builtin => Ok(self.measure_builtin(scenario, connections, seconds).await),
        }
    }

    async fn measure_with_wrk(
        &self,
        scenario: &Scenario,
        connections: usize,
        seconds: u64,
    ) -> anyhow::Result<Measured> {
        const THREADS: usize = 2;
        let body = match &scenario.body {
            Some(body) => lua_string(&body.to_string()),
            None => "nil".to_owned(),
        };
        let script = format!(
            "wrk.headers[\"Authorization\"] = {token}\n\
             wrk.headers[\"Content-Type\"] = \"application/json\"\n\
             {path}\
             local body = {body}\n\
             local n = 0\n\
             local threads = 0\n\
             function setup(thread) thread:set(\"first\", threads); threads = threads + 1 end\n\
             function init(args) n = first end\n\
             function request() local p = path(n); n = n + {THREADS}; return wrk.format({method}, p, nil, body) end\n\
             function done(summary, latency, requests)\n\
               local e = summary.errors\n\
               io.write(string.format(\"omnistream-bench %d %d %d %d %d\\n\", summary.requests, \
                 e.status + e.connect + e.read + e.write + e.timeout, summary.duration, \
                 latency:percentile(50), latency:percentile(99)))\n\
             end\n",
            token = lua_string(&format!("Bearer {}", self.token)),
            path = scenario.paths.lua(),
            method = lua_string(scenario.method.as_str()),
        );
        let file = std::env::temp_dir().join(format!("omnistream-bench-{}.lua", std::process::id()));
        tokio::fs::write(&file, script).await?;
        let output = tokio::process::Command::new("wrk")
            .arg(format!("-t{}", THREADS.min(connections)))
            .arg(format!("-c{connections}"))
            .arg(format!("-d{seconds}s"))
            .args(["--timeout", "60s", "-s"])
            .arg(&file)
            .arg(format!("{}/", self.base))
            .output()
            .await
            .context("running wrk")?;
        let _ = tokio::fs::remove_file(&file).await;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = stdout
            .lines()
            .find_map(|l| l.strip_prefix("omnistream-bench "))
            .with_context(|| {
                format!(
                    "wrk printed no summary: {stdout}{}",
                    String::from_utf8_lossy(&output.stderr)
                )
            })?;
        let numbers: Vec<f64> = line.split(' ').filter_map(|n| n.parse().ok()).collect();
        let [requests, errors, duration_us, p50_us, p99_us] = numbers[..] else {
            anyhow::bail!("unexpected wrk summary: {line}");
        };
        let answered = (requests - errors).max(0.0);
        Ok(Measured {
            requests: answered as u64,
            errors: errors as u64,
            per_second: answered / (duration_us / 1e6),
            p50_ms: p50_us / 1000.0,
            p99_ms: p99_us / 1000.0,
        })
    }

    async fn measure_builtin(&self, scenario: Arc<Scenario>, connections: usize, seconds: u64) -> Measured {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        let started = Instant::now();
        let mut tasks = Vec::new();
        for worker in 0..connections {
            let (client, base, token, scenario) = (
                self.client.clone(),
                self.base.clone(),
                self.token.clone(),
                scenario.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut errors = 0u64;
                let mut n = worker as u64;
                while Instant::now() < deadline {
                    let path = scenario.paths.nth(n);
                    let mut request = client
                        .request(scenario.method.clone(), format!("{base}{path}"))
                        .bearer_auth(&token);
                    if let Some(body) = &scenario.body {
                        request = request.json(body);
                    }
                    let sent = Instant::now();
                    match request.send().await {
                        Ok(response) if response.status().is_success() => {
                            let _ = response.bytes().await;
                            latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                        }
                        _ => errors += 1,
                    }
                    n += connections as u64;
                }
                (latencies, errors)
            }));
        }
        let mut latencies = Vec::new();
        let mut errors = 0;
        for task in tasks {
            if let Ok((mut l, e)) = task.await {
                latencies.append(&mut l);
                errors += e;
            }
        }
        let elapsed = started.elapsed().as_secs_f64();
        latencies.sort_by(f64::total_cmp);
        let at = |q: f64| {
            latencies
                .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
                .copied()
                .unwrap_or(0.0)
        };
        Measured {
            requests: latencies.len() as u64,
            errors,
            per_second: latencies.len() as f64 / elapsed,
            p50_ms: at(0.50),
            p99_ms: at(0.99),
        }
    }
}
