//! Live sync: what this instance keeps in memory to answer "nothing new" without the database, and to hold a poll
//! (`GET /api/v1/sync?wait=N`) until a change for its member commits.
//!
//! The memory ([`Hub`]) holds the feed's head and, per (member, installation) that polled recently, what a poll needs
//! to know: the member's committee, that the member has not left and the installation is live (an entry exists only
//! then), and the member's `state_seq`. It learns of changes from [`notes`]: every write transaction notes what it
//! changed (the feed head, a member), and on COMMIT the db layer applies the notes here at once (this instance) and,
//! on PostgreSQL, sends them with `pg_notify`, which every instance's [`listen`]er receives when the transaction
//! commits. An entry also expires [`FRESH_FOR`] after it was read from the database: a safety net for a write that
//! bypassed the notes (SQL by hand, the CLI on SQLite while the server runs).
//!
//! # Why a 304 from memory is never stale on this instance
//!
//! The memory answers only "nothing new" (304, or hold the poll); anything else re-reads the database. So the one
//! thing to show is: when a transaction T of this instance that changes what poll P would see has committed before P
//! arrives, P does not take a stale entry for the truth. Three cases.
//!
//! 1. **P looks up an entry filled before T.** T's notes were applied in two steps around its COMMIT:
//!    [`Hub::begin`] (before COMMIT) removes the member's entries and marks them *being written*, or marks the feed
//!    head being written; [`Hub::finish`] (after COMMIT) removes the entries again, raises the head, and clears the
//!    mark. A lookup finds no entry, or a mark (and goes to the database), from `begin` on; T committed after
//!    `begin`, so P, arriving after the commit, cannot see the old entry.
//! 2. **A fill races T.** A poll P' read the database before T committed and is about to store what it read (stale,
//!    but a fine answer for P' itself, which arrived before the commit). Before its read P' took a [`Ticket`], the
//!    generation of the member's shard; `begin` and `finish` each bump that generation, under the shard's lock, and
//!    [`Hub::fill`] stores under the same lock only if the generation is still the ticket's and no mark is set. If
//!    P' read before T's COMMIT, `finish` (after the COMMIT) either ran before `fill` (generation changed: not
//!    stored) or runs after it (and removes what was stored). If `begin` ran before P' took its ticket, the mark
//!    refuses the fill until `finish`, and `finish`'s bump refuses it after. A fill that stores therefore read after
//!    `finish` began, i.e. after T's COMMIT: PostgreSQL's READ COMMITTED statement and SQLite's WAL read transaction
//!    both see T.
//! 3. **The feed head.** It only grows (`fetch_max` of what fills read and what notes carry), and while a feed
//!    writer of this instance is between `begin` and `finish` the head is not trusted. A fill never lowers it.
//!
//! Another instance's commit reaches this memory when its notification arrives (milliseconds): until then a poll
//! without `wait` may still get 304 (the device learns it at its next poll; a held poll is woken by the
//! notification itself). After a listener reconnects, everything is forgotten and every held poll re-checks.

pub mod listen;
pub mod notes;
pub mod pages;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use chrono::NaiveDateTime;
use tokio::sync::futures::Notified;
use tokio::sync::Notify;

use crate::sync::installations::SEEN_EVERY_SECONDS;
use crate::sync::seen::SeenLog;

pub use notes::Changes;

/// How long what was read from the database is trusted without a notification: the safety net.
pub const FRESH_FOR: Duration = Duration::from_secs(10);
/// The longest `wait` a poll may ask for, in seconds.
pub const MAX_WAIT: u64 = 60;
/// Quiet spans remembered at most per committee (see [`Hub::quiet_until`]); past it they are forgotten at once.
const MAX_QUIET_SPANS: usize = 100_000;
const SHARDS: usize = 64;

/// What a poll needs to know before any document is touched.
#[derive(Clone, Debug)]
pub struct Known {
    pub committee: Arc<str>,
    pub state_seq: i64,
    /// The feed's newest committed position.
    pub head: i64,
}

#[derive(Default)]
struct Feed {
    head: i64,
    /// When a database read last confirmed `head` (None: not since everything was forgotten).
    confirmed: Option<Instant>,
    /// Bumped whenever everything is forgotten: a fill that began before may not confirm the head.
    epoch: u64,
    /// Transactions of this instance between `begin` and `finish` that move the feed (or change everything).
    writers: usize,
}

struct Device {
    installation: String,
    committee: Arc<str>,
    state_seq: i64,
    last_seen: NaiveDateTime,
    filled: Instant,
}

#[derive(Default)]
struct Slot {
    devices: Vec<Device>,
    /// Transactions of this instance between `begin` and `finish` that change this member.
    writers: usize,
    /// Held polls of this member, and what wakes them.
    waiting: Option<(Arc<Notify>, usize)>,
}

impl Slot {
    fn unused(&self) -> bool {
        self.devices.is_empty() && self.writers == 0 && self.waiting.is_none()
    }
}

#[derive(Default)]
struct Shard {
    generation: u64,
    members: HashMap<i64, Slot>,
}

impl Shard {
    fn forget(&mut self, member: i64) {
        self.generation += 1;
        if let Some(slot) = self.members.get_mut(&member) {
            slot.devices.clear();
            if slot.unused() {
                self.members.remove(&member);
            }
        }
    }

    fn forget_all(&mut self) {
        self.generation += 1;
        self.members.retain(|_, slot| {
            slot.devices.clear();
            !slot.unused()
        });
    }
}

/// Taken before a database read whose result may be stored by [`Hub::fill`].
pub struct Ticket {
    member: i64,
    generation: u64,
    epoch: u64,
    started: Instant,
}

/// This instance's memory of the feed and of the devices polling it, and the held polls.
pub struct Hub {
    feed: Mutex<Feed>,
    shards: Vec<Mutex<Shard>>,
    /// Wakes every held poll: the feed moved, everything changed, or the server is stopping.
    everyone: Notify,
    stopping: AtomicBool,
    /// Pages shared by polls woken together.
    pub pages: pages::Pages,
    /// Committee → (position p → q): nothing in the feed after p up to q concerns a member of the committee.
    quiet: Mutex<HashMap<Arc<str>, HashMap<i64, i64>>>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Hub {
    pub fn new() -> Hub {
        Hub {
            feed: Mutex::new(Feed::default()),
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            everyone: Notify::new(),
            stopping: AtomicBool::new(false),
            quiet: Mutex::new(HashMap::new()),
            pages: pages::Pages::default(),
        }
    }

    fn shard(&self, member: i64) -> MutexGuard<'_, Shard> {
        lock(&self.shards[member.rem_euclid(SHARDS as i64) as usize])
    }

    /// What memory knows of this member's installation, if it is fresh and nothing about it is being written;
    /// notes in `seen` that the device was seen (at most once a minute), as the database read does.
    pub fn lookup(&self, member: i64, installation: &str, seen: &SeenLog) -> Option<Known> {
        let head = {
            let feed = lock(&self.feed);
            if feed.writers > 0 || feed.confirmed.is_none_or(|at| at.elapsed() >= FRESH_FOR) {
                return None;
            }
            feed.head
        };
        let mut shard = self.shard(member);
        let slot = shard.members.get_mut(&member)?;
        if slot.writers > 0 {
            return None;
        }
        let device = slot.devices.iter_mut().find(|device| device.installation == installation)?;
        if device.filled.elapsed() >= FRESH_FOR {
            return None;
        }
        let at = crate::time::now();
        if (at - device.last_seen).num_seconds() >= SEEN_EVERY_SECONDS {
            seen.note(installation, at);
            device.last_seen = at;
        }
        Some(Known { committee: device.committee.clone(), state_seq: device.state_seq, head })
    }

    /// Take before reading what [`Hub::fill`] will store.
    pub fn ticket(&self, member: i64) -> Ticket {
        let epoch = lock(&self.feed).epoch;
        let generation = self.shard(member).generation;
        Ticket { member, generation, epoch, started: Instant::now() }
    }

    /// Stores what a database read found (see the module's comment for why a stale read is never stored).
    pub fn fill(&self, ticket: Ticket, installation: &str, known: &Known, last_seen: NaiveDateTime) {
        {
            let mut feed = lock(&self.feed);
            feed.head = feed.head.max(known.head);
            if feed.epoch == ticket.epoch && feed.writers == 0 {
                let confirmed = feed.confirmed.map_or(ticket.started, |at| at.max(ticket.started));
                feed.confirmed = Some(confirmed);
            }
        }
        let mut shard = self.shard(ticket.member);
        if shard.generation != ticket.generation {
            return;
        }
        let slot = shard.members.entry(ticket.member).or_default();
        if slot.writers > 0 {
            return;
        }
        slot.devices.retain(|device| device.installation != installation);
        slot.devices.push(Device {
            installation: installation.to_owned(),
            committee: known.committee.clone(),
            state_seq: known.state_seq,
            last_seen,
            filled: ticket.started,
        });
    }

    /// Before a transaction of this instance commits `changes`: nothing they touch is answered from memory until
    /// [`Hub::finish`].
    pub fn begin(&self, changes: &Changes) {
        if changes.feed.is_some() || changes.all {
            let mut feed = lock(&self.feed);
            feed.writers += 1;
            if changes.all {
                feed.epoch += 1;
                feed.confirmed = None;
            }
        }
        if changes.all {
            for shard in &self.shards {
                lock(shard).forget_all();
            }
        }
        for &member in &changes.members {
            let mut shard = self.shard(member);
            shard.forget(member);
            shard.members.entry(member).or_default().writers += 1;
        }
    }

    /// After the commit (or the rollback) of what [`Hub::begin`] announced: applied, and polls woken.
    pub fn finish(&self, changes: &Changes) {
        for &member in &changes.members {
            let mut shard = self.shard(member);
            if let Some(slot) = shard.members.get_mut(&member) {
                slot.writers = slot.writers.saturating_sub(1);
            }
            shard.forget(member);
        }
        if changes.feed.is_some() || changes.all {
            let mut feed = lock(&self.feed);
            feed.writers = feed.writers.saturating_sub(1);
        }
        self.apply(changes);
    }

    /// Applies changes committed by any instance (the listener's notifications, and [`Hub::finish`]).
    pub fn apply(&self, changes: &Changes) {
        if changes.all {
            {
                let mut feed = lock(&self.feed);
                feed.epoch += 1;
                feed.confirmed = None;
            }
            for shard in &self.shards {
                lock(shard).forget_all();
            }
        }
        if let Some(position) = changes.feed {
            let mut feed = lock(&self.feed);
            feed.head = feed.head.max(position);
        }
        for &member in &changes.members {
            let waiting = {
                let mut shard = self.shard(member);
                shard.forget(member);
                shard.members.get(&member).and_then(|slot| slot.waiting.as_ref().map(|(notify, _)| notify.clone()))
            };
            if let Some(notify) = waiting {
                notify.notify_waiters();
            }
        }
        if changes.feed.is_some() || changes.all {
            self.everyone.notify_waiters();
        }
    }

    /// The end of the feed span known to hold nothing for `committee` after `position` (`position` itself if none).
    pub fn quiet_until(&self, committee: &str, position: i64) -> i64 {
        let quiet = lock(&self.quiet);
        quiet.get(committee).and_then(|spans| spans.get(&position)).map_or(position, |end| (*end).max(position))
    }

    /// A page read after `from` found nothing for `committee` up to `to`: documents in that span only ever move to
    /// later positions when they change again, so the span stays quiet for that committee for good.
    pub fn quiet(&self, committee: &Arc<str>, from: i64, to: i64) {
        if to <= from {
            return;
        }
        let mut quiet = lock(&self.quiet);
        let spans = quiet.entry(committee.clone()).or_default();
        if spans.len() >= MAX_QUIET_SPANS {
            spans.clear();
        }
        let end = spans.entry(from).or_insert(to);
        *end = (*end).max(to);
    }

    /// Registers a held poll of `member`: what wakes it, until the [`Waiter`] is dropped.
    pub fn waiter(self: &Arc<Self>, member: i64) -> Waiter {
        let mut shard = self.shard(member);
        let slot = shard.members.entry(member).or_default();
        let (notify, count) = slot.waiting.get_or_insert_with(|| (Arc::new(Notify::new()), 0));
        *count += 1;
        Waiter { hub: self.clone(), member, notify: notify.clone() }
    }

    /// The server is stopping: every held poll answers now, and no new one is held.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.everyone.notify_waiters();
    }

    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// How many polls are held now.
    pub fn held(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| {
                lock(shard).members.values().filter_map(|slot| slot.waiting.as_ref()).map(|w| w.1).sum::<usize>()
            })
            .sum()
    }
}

/// One held poll's registration.
pub struct Waiter {
    hub: Arc<Hub>,
    member: i64,
    notify: Arc<Notify>,
}

impl Waiter {
    /// Resolves at the next change of the member, of the feed, of everything, or when the server stops. Create it
    /// BEFORE checking whether anything is new: a change between the check and the await still wakes it.
    pub fn changed(&self) -> Changed<'_> {
        Changed { mine: self.notify.notified(), everyone: self.hub.everyone.notified() }
    }
}

pin_project_lite::pin_project! {
    /// [`Waiter::changed`]: either notification. A plain future rather than an async block around `select!`, which
    /// would keep both notifications twice; every held poll holds one of these.
    pub struct Changed<'a> {
        #[pin]
        mine: Notified<'a>,
        #[pin]
        everyone: Notified<'a>,
    }
}

impl std::future::Future for Changed<'_> {
    type Output = ();

    fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        let this = self.project();
        if this.mine.poll(cx).is_ready() || this.everyone.poll(cx).is_ready() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    }
}

impl Drop for Waiter {
    fn drop(&mut self) {
        let mut shard = self.hub.shard(self.member);
        if let Some(slot) = shard.members.get_mut(&self.member) {
            if let Some((_, count)) = &mut slot.waiting {
                *count -= 1;
                if *count == 0 {
                    slot.waiting = None;
                }
            }
            if slot.unused() {
                shard.members.remove(&self.member);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn known(head: i64, state_seq: i64) -> Known {
        Known { committee: Arc::from("HK"), state_seq, head }
    }

    fn member(id: i64) -> Changes {
        Changes { members: [id].into(), ..Changes::default() }
    }

    #[test]
    fn a_fill_that_raced_a_commit_is_never_stored() {
        let (hub, seen) = (Hub::new(), SeenLog::default());
        let at = crate::time::now();
        // Filled, then found.
        hub.fill(hub.ticket(1), "a", &known(5, 2), at);
        assert_eq!(hub.lookup(1, "a", &seen).map(|k| (k.head, k.state_seq)), Some((5, 2)));
        // A commit for the member: not answered from memory from `begin` on.
        hub.begin(&member(1));
        assert!(hub.lookup(1, "a", &seen).is_none());
        // A read that took its ticket during the commit may not store (the mark), nor after `finish` (generation).
        let during = hub.ticket(1);
        hub.fill(hub.ticket(1), "a", &known(5, 2), at);
        assert!(hub.lookup(1, "a", &seen).is_none());
        hub.finish(&member(1));
        hub.fill(during, "a", &known(5, 2), at);
        assert!(hub.lookup(1, "a", &seen).is_none());
        // A read that took its ticket before `begin` and stores after `finish`: refused too.
        let before = hub.ticket(1);
        hub.begin(&member(1));
        hub.finish(&member(1));
        hub.fill(before, "a", &known(5, 2), at);
        assert!(hub.lookup(1, "a", &seen).is_none());
        // After the commit: stored.
        hub.fill(hub.ticket(1), "a", &known(5, 3), at);
        assert_eq!(hub.lookup(1, "a", &seen).map(|k| k.state_seq), Some(3));
        // The feed: not trusted while a writer commits, then the head only grows.
        let feed = Changes { feed: Some(6), ..Changes::default() };
        hub.begin(&feed);
        assert!(hub.lookup(1, "a", &seen).is_none());
        hub.finish(&feed);
        assert_eq!(hub.lookup(1, "a", &seen).map(|k| k.head), Some(6));
        hub.fill(hub.ticket(2), "b", &known(4, 0), at);
        assert_eq!(hub.lookup(2, "b", &seen).map(|k| k.head), Some(6), "a fill never lowers the head");
        // Everything forgotten (a listener that reconnected): nothing answered until read again.
        hub.apply(&Changes::everything());
        assert!(hub.lookup(1, "a", &seen).is_none());
        hub.fill(hub.ticket(1), "a", &known(6, 3), at);
        assert!(hub.lookup(1, "a", &seen).is_some());
    }

    #[test]
    fn waiters_are_counted_and_woken() {
        let hub = Arc::new(Hub::new());
        let waiter = hub.waiter(7);
        assert_eq!(hub.held(), 1);
        let changed = waiter.changed();
        hub.apply(&member(7));
        let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
        runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(5), changed).await.expect("woken");
        });
        drop(waiter);
        assert_eq!(hub.held(), 0);
        assert!(hub.shards.iter().all(|shard| lock(shard).members.is_empty()), "nothing left behind");
    }
}
