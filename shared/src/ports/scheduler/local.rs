//! `Scheduler` in-process: schedules persist in a JSON file in the data directory and a
//! timer loop fires the due ones. `fire_due(now)` is the whole logic, so tests drive it
//! with a manual clock instead of waiting.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{ScheduleSpec, Scheduler};
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::schedule_expr::parse_timezone;

/// One fire: what EventBridge would hand the target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fire {
    pub name: String,
    pub input: String,
    pub scheduled_at: DateTime<Utc>,
}

/// What a fire is delivered to (under `steward serve`, the exports schedule target).
#[async_trait]
pub trait FireTarget: Send + Sync {
    async fn fire(&self, fire: Fire);
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    spec: ScheduleSpec,
    next: Option<DateTime<Utc>>,
}

pub struct LocalScheduler {
    file: PathBuf,
    clock: Arc<dyn Clock>,
    entries: Mutex<BTreeMap<String, Entry>>,
}

fn next_fire(spec: &ScheduleSpec, after: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
    let expr = spec.validate()?;
    let tz = parse_timezone(&spec.timezone).map_err(|e| Error::invalid("/timezone", e.message))?;
    Ok(expr.next_after(after, tz))
}

impl LocalScheduler {
    pub fn open(file: &Path, clock: Arc<dyn Clock>) -> Result<Self> {
        crate::local_files::tighten_file(file)
            .map_err(|e| Error::internal("making the schedules file private", e))?;
        let entries = match std::fs::read(file) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| Error::internal("reading the schedules file", e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(Error::internal("reading the schedules file", e)),
        };
        Ok(Self {
            file: file.to_path_buf(),
            clock,
            entries: Mutex::new(entries),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes the whole set atomically (temp file + rename) while the lock is held.
    fn save(&self, entries: &BTreeMap<String, Entry>) -> Result<()> {
        crate::local_files::write_atomic(&self.file, &serde_json::to_vec_pretty(entries)?)
            .map_err(|e| Error::internal("saving schedules", e))
    }

    /// Fires every enabled schedule due at `now`. A schedule missed several times while
    /// Steward was down fires once, for its latest due time, then moves on.
    pub fn fire_due(&self, now: DateTime<Utc>) -> Result<Vec<Fire>> {
        let mut entries = self.lock();
        let mut fires = Vec::new();
        for entry in entries.values_mut() {
            let mut due = None;
            while let Some(t) = entry.next.filter(|t| *t <= now) {
                due = Some(t);
                entry.next = next_fire(&entry.spec, t)?;
            }
            if let Some(t) = due.filter(|_| entry.spec.enabled) {
                fires.push(Fire {
                    name: entry.spec.name.clone(),
                    input: entry.spec.input.clone(),
                    scheduled_at: t,
                });
            }
        }
        if !fires.is_empty() {
            self.save(&entries)?;
        }
        Ok(fires)
    }

    /// The timer: checks every `tick` and hands due fires to `target`. Runs until dropped.
    pub async fn run(self: Arc<Self>, target: Arc<dyn FireTarget>, tick: Duration) {
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            interval.tick().await;
            match self.fire_due(self.clock.now()) {
                Ok(fires) => {
                    for f in fires {
                        tracing::info!(schedule = %f.name, at = %f.scheduled_at, "schedule fired");
                        target.fire(f).await;
                    }
                }
                Err(e) => tracing::error!(error = %e, "local scheduler tick failed"),
            }
        }
    }
}

#[async_trait]
impl Scheduler for LocalScheduler {
    fn kind(&self) -> &'static str {
        "in-process"
    }

    async fn create(&self, spec: &ScheduleSpec) -> Result<()> {
        let next = next_fire(spec, self.clock.now())?;
        let mut entries = self.lock();
        if entries.contains_key(&spec.name) {
            return Err(Error::Conflict(format!("schedule {} exists", spec.name)));
        }
        entries.insert(
            spec.name.clone(),
            Entry {
                spec: spec.clone(),
                next,
            },
        );
        self.save(&entries)
    }

    async fn update(&self, spec: &ScheduleSpec) -> Result<()> {
        let next = next_fire(spec, self.clock.now())?;
        let mut entries = self.lock();
        let Some(entry) = entries.get_mut(&spec.name) else {
            return Err(Error::NotFound(format!("schedule {}", spec.name)));
        };
        *entry = Entry {
            spec: spec.clone(),
            next,
        };
        self.save(&entries)
    }

    async fn delete(&self, name: &str) -> Result<()> {
        let mut entries = self.lock();
        if entries.remove(name).is_some() {
            self.save(&entries)?;
        }
        Ok(())
    }

    async fn get(&self, name: &str) -> Result<Option<ScheduleSpec>> {
        Ok(self.lock().get(name).map(|e| e.spec.clone()))
    }
}
