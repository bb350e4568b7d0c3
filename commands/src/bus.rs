//! Loading, deciding and appending, with bounded retries on optimistic-concurrency conflicts.

use std::future::Future;
use std::sync::Arc;

use omnistream_domain::{Aggregate, DomainError};
use omnistream_store::{AppendOutcome, AppendRequest, EventStore, ExpectedVersion, NewEvent};
use uuid::Uuid;

use crate::{CommandContext, CommandError, Scope};

/// How many times a command is re-decided after a version conflict before answering 409.
pub const MAX_ATTEMPTS: usize = 4;

/// An aggregate loaded from its stream.
#[derive(Debug, Clone)]
pub struct Loaded<A: Aggregate> {
    /// The aggregate's stream.
    pub stream_id: String,
    /// Its state.
    pub state: A,
    /// Its stream version (0: no stream).
    pub version: i64,
    scope: Scope,
}

impl<A: Aggregate> Loaded<A> {
    /// Decides a command; `None` when it changes nothing.
    pub fn decide(&self, ctx: &CommandContext, command: A::Command) -> Result<Option<AppendRequest>, CommandError> {
        let events = self.state.decide(command)?;
        if events.is_empty() {
            return Ok(None);
        }
        let metadata = ctx.metadata();
        Ok(Some(AppendRequest {
            stream_id: self.stream_id.clone(),
            tenant_id: self.scope.tenant_id(),
            expected: ExpectedVersion::Exact(self.version),
            events: events
                .iter()
                .map(|e| NewEvent::from_domain(e, metadata.clone()))
                .collect(),
        }))
    }

    /// Decides several commands in turn, each against the state the previous ones leave;
    /// `None` when together they change nothing.
    pub fn decide_all(
        &self,
        ctx: &CommandContext,
        commands: Vec<A::Command>,
    ) -> Result<Option<AppendRequest>, CommandError> {
        let mut state = self.state.clone();
        let mut events = Vec::new();
        for command in commands {
            for event in state.decide(command)? {
                state = state.apply(&event);
                events.push(event);
            }
        }
        if events.is_empty() {
            return Ok(None);
        }
        let metadata = ctx.metadata();
        Ok(Some(AppendRequest {
            stream_id: self.stream_id.clone(),
            tenant_id: self.scope.tenant_id(),
            expected: ExpectedVersion::Exact(self.version),
            events: events
                .iter()
                .map(|e| NewEvent::from_domain(e, metadata.clone()))
                .collect(),
        }))
    }

    /// Fails with not-found unless the aggregate exists.
    pub fn require_exists(self) -> Result<Self, CommandError> {
        if self.state.exists() {
            Ok(self)
        } else {
            Err(DomainError::NotFound(A::NAME).into())
        }
    }
}

/// The result of a command: the stream's version and the last position written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Executed {
    /// The aggregate's id.
    pub id: Uuid,
    /// Its stream version after the command.
    pub version: i64,
    /// The global position of the last event written; `None` when nothing changed.
    pub position: Option<i64>,
}

impl Executed {
    /// The result of an append that touched several streams: the version of `stream_id`
    /// (`fallback` when it was not written) and the last position written.
    pub fn of(id: Uuid, stream_id: &str, fallback: i64, outcomes: &[AppendOutcome]) -> Self {
        Self {
            id,
            version: outcomes
                .iter()
                .find(|o| o.stream_id == stream_id)
                .map_or(fallback, |o| o.version),
            position: outcomes.iter().filter_map(|o| o.last_position()).max(),
        }
    }
}

/// Runs commands against an event store.
#[derive(Clone)]
pub struct CommandBus {
    store: Arc<dyn EventStore>,
}

impl CommandBus {
    /// A bus over a store.
    pub fn new(store: Arc<dyn EventStore>) -> Self {
        Self { store }
    }

    /// The store behind the bus.
    pub fn store(&self) -> &Arc<dyn EventStore> {
        &self.store
    }

    /// Loads an aggregate, refusing streams of another scope as not found.
    #[tracing::instrument(skip(self), err)]
    pub async fn load<A: Aggregate>(&self, scope: Scope, id: &str) -> Result<Loaded<A>, CommandError> {
        let stream_id = A::stream_id(id);
        let recorded = self.store.read_stream(&stream_id, 1).await?;
        if let Some(first) = recorded.first() {
            if first.tenant_id != scope.tenant_id() {
                return Err(DomainError::NotFound(A::NAME).into());
            }
        }
        let mut state = A::default();
        for event in &recorded {
            state = state.apply(&event.decode::<A::Event>()?);
        }
        Ok(Loaded {
            stream_id,
            state,
            version: recorded.last().map_or(0, |e| e.version),
            scope,
        })
    }

    /// A new aggregate for a freshly minted id: it has no history, so nothing is read.
    /// Its append expects no stream; should the id exist after all, the append conflicts.
    pub fn fresh<A: Aggregate>(&self, scope: Scope, id: Uuid) -> Loaded<A> {
        Loaded {
            stream_id: A::stream_id(id),
            state: A::default(),
            version: 0,
            scope,
        }
    }

    /// Runs a creation command on a freshly minted id without reading its (empty) stream;
    /// should the id exist after all, it falls back to [`CommandBus::execute`].
    #[tracing::instrument(skip(self, ctx, command), fields(aggregate = A::NAME), err)]
    pub async fn create<A>(&self, ctx: &CommandContext, id: Uuid, command: A::Command) -> Result<Executed, CommandError>
    where
        A: Aggregate,
        A::Command: Clone,
    {
        let Some(request) = self.fresh::<A>(ctx.scope, id).decide(ctx, command.clone())? else {
            return Ok(Executed {
                id,
                version: 0,
                position: None,
            });
        };
        match self.commit(vec![request]).await {
            Ok(mut outcomes) => {
                let outcome = outcomes.remove(0);
                Ok(Executed {
                    id,
                    version: outcome.version,
                    position: outcome.last_position(),
                })
            }
            Err(CommandError::Conflict(_)) => self.execute::<A>(ctx, id, command).await,
            Err(other) => Err(other),
        }
    }

    /// Appends the decided changes of several streams atomically.
    pub async fn commit(&self, requests: Vec<AppendRequest>) -> Result<Vec<AppendOutcome>, CommandError> {
        if requests.is_empty() {
            return Ok(Vec::new());
        }
        Ok(self.store.append(requests).await?)
    }

    /// Loads, decides and appends one aggregate's command, retrying on conflicts.
    #[tracing::instrument(skip(self, ctx, command), fields(aggregate = A::NAME), err)]
    pub async fn execute<A>(
        &self,
        ctx: &CommandContext,
        id: Uuid,
        command: A::Command,
    ) -> Result<Executed, CommandError>
    where
        A: Aggregate,
        A::Command: Clone,
    {
        retry_on_conflict(|| async {
            let loaded = self.load::<A>(ctx.scope, &id.to_string()).await?;
            let Some(request) = loaded.decide(ctx, command.clone())? else {
                return Ok(Executed {
                    id,
                    version: loaded.version,
                    position: None,
                });
            };
            let outcome = self.commit(vec![request]).await?.remove(0);
            Ok(Executed {
                id,
                version: outcome.version,
                position: outcome.last_position(),
            })
        })
        .await
    }
}

/// Runs `attempt` again while it fails with a conflict, at most [`MAX_ATTEMPTS`] times.
pub async fn retry_on_conflict<T, F, Fut>(mut attempt: F) -> Result<T, CommandError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CommandError>>,
{
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt().await {
            Err(CommandError::Conflict(stream)) if tries < MAX_ATTEMPTS => {
                tracing::debug!(%stream, tries, "version conflict, retrying");
            }
            other => return other,
        }
    }
}
