//! What a write transaction changed, as far as polling devices are concerned, collected while it runs and handed
//! on when it commits (`crate::db::DbConnection::write_transaction`).
//!
//! The writers call [`feed_moved`] (the feed counter, `crate::sync::feed::next_position`), [`member_changed`] (a
//! member's state log, status, committee or devices) or [`everything_changed`]; the notes wait in a thread-local
//! until the outermost transaction of the thread ends. A transaction runs on one thread from BEGIN to COMMIT, so
//! the thread-local is the transaction's. On COMMIT the db layer sends them to PostgreSQL (`pg_notify`, delivered to
//! every instance's listener at commit) and applies them to this process's memory ([`super::Hub`]).

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::sync::Arc;

use super::Hub;

/// Past this many members in one transaction (an import), the notes say "everything": one wake-up instead of
/// thousands of notifications.
const MAX_MEMBERS: usize = 1_000;
/// PostgreSQL takes payloads under 8,000 bytes.
const MAX_PAYLOAD: usize = 7_000;

/// What one committed transaction changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// The feed's new head, if it moved.
    pub feed: Option<i64>,
    /// Members whose own state, status, committee or devices changed.
    pub members: BTreeSet<i64>,
    /// Anything may have changed (a bulk import, a listener that reconnected).
    pub all: bool,
}

impl Changes {
    pub fn everything() -> Changes {
        Changes { all: true, ..Changes::default() }
    }

    pub fn is_empty(&self) -> bool {
        self.feed.is_none() && self.members.is_empty() && !self.all
    }

    fn feed_moved(&mut self, position: i64) {
        self.feed = Some(self.feed.map_or(position, |known| known.max(position)));
    }

    fn member_changed(&mut self, member_id: i64) {
        if self.all {
            return;
        }
        self.members.insert(member_id);
        if self.members.len() > MAX_MEMBERS {
            self.all = true;
            self.members.clear();
        }
    }

    pub fn merge(&mut self, other: Changes) {
        if let Some(position) = other.feed {
            self.feed_moved(position);
        }
        if other.all {
            self.all = true;
            self.members.clear();
        }
        for member in other.members {
            self.member_changed(member);
        }
    }

    /// The `pg_notify` payloads that carry these changes: words `f<position>`, `m<member id>` and `*`.
    pub fn payloads(&self) -> Vec<String> {
        let mut words: Vec<String> = Vec::new();
        if self.all {
            words.push("*".into());
        }
        if let Some(position) = self.feed {
            words.push(format!("f{position}"));
        }
        words.extend(self.members.iter().map(|member| format!("m{member}")));
        let mut payloads = vec![String::new()];
        for word in words {
            let last = payloads.last_mut().expect("one payload at least");
            if !last.is_empty() && last.len() + 1 + word.len() > MAX_PAYLOAD {
                payloads.push(word);
            } else {
                if !last.is_empty() {
                    last.push(' ');
                }
                last.push_str(&word);
            }
        }
        payloads
    }

    /// The changes a payload carries; a word it does not understand means "everything" (never miss a change).
    pub fn parse(payload: &str) -> Changes {
        let mut changes = Changes::default();
        for word in payload.split_whitespace() {
            let understood = if word == "*" {
                changes.all = true;
                true
            } else if let Some(number) = word.strip_prefix('f') {
                number.parse().map(|position| changes.feed_moved(position)).is_ok()
            } else if let Some(number) = word.strip_prefix('m') {
                number.parse().map(|member| changes.member_changed(member)).is_ok()
            } else {
                false
            };
            if !understood {
                return Changes::everything();
            }
        }
        changes
    }
}

thread_local! {
    /// The notes of the transaction open on this thread.
    static PENDING: RefCell<Changes> = RefCell::new(Changes::default());
    /// The memory of the instance whose database work runs on this thread (`Db::run`), if any (none in the CLI).
    static HUB: RefCell<Option<Arc<Hub>>> = const { RefCell::new(None) };
}

/// The feed's head moved to `position`. Call inside the write transaction that takes it.
pub fn feed_moved(position: i64) {
    PENDING.with(|pending| pending.borrow_mut().feed_moved(position));
}

/// A member's own state, status, committee or devices changed. Call inside the write transaction.
pub fn member_changed(member_id: i64) {
    PENDING.with(|pending| pending.borrow_mut().member_changed(member_id));
}

/// Anything may have changed. Call inside the write transaction.
pub fn everything_changed() {
    PENDING.with(|pending| pending.borrow_mut().all = true);
}

/// The outermost transaction begins: notes left over from outside any transaction are dropped.
pub fn began() {
    PENDING.with(|pending| *pending.borrow_mut() = Changes::default());
}

/// The outermost transaction is about to commit (or roll back): its notes.
pub fn take() -> Changes {
    PENDING.with(|pending| std::mem::take(&mut *pending.borrow_mut()))
}

/// While it lives, database work on this thread belongs to `hub`'s instance (`Db::run`, `Db::read_quick`).
pub struct Scope {
    previous: Option<Arc<Hub>>,
}

impl Scope {
    pub fn enter(hub: Arc<Hub>) -> Scope {
        Scope { previous: HUB.with(|current| current.borrow_mut().replace(hub)) }
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        let previous = self.previous.take();
        HUB.with(|current| *current.borrow_mut() = previous);
    }
}

/// A commit under way: from before COMMIT until it is dropped after it, this instance's memory answers nothing
/// about what the transaction touches (see [`Hub::begin`]); dropped, the changes are applied and polls woken.
pub struct Commit {
    hub: Option<Arc<Hub>>,
    changes: Changes,
}

impl Commit {
    pub fn begin(changes: Changes) -> Commit {
        let hub = HUB.with(|current| current.borrow().clone());
        if let Some(hub) = &hub {
            hub.begin(&changes);
        }
        Commit { hub, changes }
    }
}

impl Drop for Commit {
    fn drop(&mut self) {
        if let Some(hub) = &self.hub {
            hub.finish(&self.changes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_split() {
        let mut changes = Changes::default();
        changes.feed_moved(7);
        changes.feed_moved(5);
        changes.member_changed(3);
        changes.member_changed(12);
        assert_eq!(changes.payloads(), vec!["f7 m3 m12".to_owned()]);
        assert_eq!(Changes::parse("f7 m3 m12"), changes);
        assert_eq!(Changes::parse("*"), Changes::everything());
        assert_eq!(Changes::parse("f7 zz"), Changes::everything());
        let mut many = Changes::default();
        for member in 0..900 {
            many.member_changed(1_000_000 + member);
        }
        let payloads = many.payloads();
        assert!(payloads.len() > 1 && payloads.iter().all(|p| p.len() <= MAX_PAYLOAD));
        let mut back = Changes::default();
        for payload in &payloads {
            back.merge(Changes::parse(payload));
        }
        assert_eq!(back, many);
        many.member_changed(1);
        many.member_changed(2);
        assert!(!many.all);
        for member in 0..200 {
            many.member_changed(member);
        }
        assert!(many.all && many.members.is_empty());
    }
}
