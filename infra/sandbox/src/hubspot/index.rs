//! HubSpot's search index lags the records: a write (create, update, merge, archive)
//! reaches search only after the configured lag. Until then search finds the record as
//! it was before the write, or not at all when it did not exist.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::objects::Record;

/// What search sees of one object type's records written within the lag.
#[derive(Default)]
pub(crate) struct SearchIndex {
    lag: Duration,
    /// Records search still shows as they were (`None`: not at all), by id.
    stale: HashMap<u64, Option<Record>>,
    /// Writes on their way to search, oldest first: when they arrive, the record, and
    /// what search shows of it from then on.
    pending: VecDeque<(Instant, u64, Option<Record>)>,
    /// Pending writes per record, so the last one to arrive ends its staleness.
    queued: HashMap<u64, usize>,
}

impl SearchIndex {
    pub fn set_lag(&mut self, lag: Duration) {
        self.lag = lag;
        if lag.is_zero() {
            self.settle();
        }
    }

    /// Before `id` is written: search keeps showing `current` (the record as it is now)
    /// until the write arrives. Writes already on their way keep what they hold.
    pub fn before_write(&mut self, id: u64, current: Option<&Record>) {
        if !self.lag.is_zero() {
            self.stale.entry(id).or_insert_with(|| current.cloned());
        }
    }

    /// After `id` was written (`now_is` is the record now, `None` once it is gone): the
    /// write reaches search after the lag. A record with no `before_write` (a new id)
    /// was not there before.
    pub fn written(&mut self, id: u64, now_is: Option<&Record>) {
        if self.lag.is_zero() {
            return;
        }
        self.stale.entry(id).or_insert(None);
        self.pending
            .push_back((Instant::now() + self.lag, id, now_is.cloned()));
        *self.queued.entry(id).or_default() += 1;
    }

    /// Lets every write whose lag has passed reach search.
    pub fn catch_up(&mut self, now: Instant) {
        while self.pending.front().is_some_and(|(at, _, _)| *at <= now) {
            let Some((_, id, seen)) = self.pending.pop_front() else {
                break;
            };
            self.arrive(id, seen);
        }
    }

    /// Lets every pending write reach search now.
    pub fn settle(&mut self) {
        while let Some((_, id, seen)) = self.pending.pop_front() {
            self.arrive(id, seen);
        }
        self.stale.clear();
        self.queued.clear();
    }

    fn arrive(&mut self, id: u64, seen: Option<Record>) {
        let left = self.queued.get_mut(&id).map(|n| {
            *n = n.saturating_sub(1);
            *n
        });
        if left.unwrap_or(0) == 0 {
            // Search now shows the record as it is.
            self.queued.remove(&id);
            self.stale.remove(&id);
        } else {
            self.stale.insert(id, seen);
        }
    }

    /// The records search sees, in id order: `live` as it is, except records written
    /// within the lag, which are seen as they were.
    pub fn view<'a>(&'a self, live: impl Iterator<Item = &'a Record>) -> Vec<&'a Record> {
        if self.stale.is_empty() {
            return live.collect();
        }
        let mut seen: Vec<&Record> = live
            .filter(|r| !self.stale.contains_key(&r.id))
            .chain(self.stale.values().flatten())
            .collect();
        seen.sort_unstable_by_key(|r| r.id);
        seen
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    fn record(id: u64, title: &str) -> Record {
        let mut props = super::super::objects::Props::new();
        props.insert("jobtitle", title.to_string());
        Record {
            id,
            props,
            created: Utc::now(),
            updated: Utc::now(),
            archived_at: None,
        }
    }

    fn titles(index: &SearchIndex, live: &[Record]) -> Vec<(u64, String)> {
        index
            .view(live.iter())
            .into_iter()
            .map(|r| (r.id, r.props["jobtitle"].clone()))
            .collect()
    }

    #[test]
    fn writes_reach_search_when_their_lag_has_passed() {
        let lag = Duration::from_secs(10);
        let mut index = SearchIndex::default();
        index.set_lag(lag);
        let old = [record(1, "a"), record(2, "b")];
        // Record 1 is updated twice, record 3 created, record 2 archived.
        index.before_write(1, Some(&old[0]));
        let mid = record(1, "a2");
        index.written(1, Some(&mid));
        index.before_write(1, Some(&mid));
        let new = record(1, "a3");
        index.written(1, Some(&new));
        let created = record(3, "c");
        index.written(3, Some(&created));
        index.before_write(2, Some(&old[1]));
        index.written(2, None);
        let live = vec![new, created];

        index.catch_up(Instant::now());
        let was = vec![(1, "a".to_string()), (2, "b".to_string())];
        assert_eq!(titles(&index, &live), was);
        index.catch_up(Instant::now() + lag + Duration::from_secs(1));
        assert_eq!(
            titles(&index, &live),
            vec![(1, "a3".to_string()), (3, "c".to_string())]
        );
        assert!(index.stale.is_empty() && index.pending.is_empty() && index.queued.is_empty());
    }
}
