//! Pages shared by the polls that a publish wakes: after a publish to all, thousands of held polls of one committee
//! stand at the same cursor position, with their own state unchanged, and need the same documents. The first reads
//! them; the others wait for its answer instead of reading the same rows thousands of times.
//!
//! A page is keyed by (committee, cursor position, the feed head the poll knew, page size). It was read after the
//! poll's memory reached that head (in-process: after the COMMIT that moved it; from another instance: after its
//! notification), so it holds everything up to that head at least — what a read of its own would have returned.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::OnceCell;

use crate::error::AppError;
use crate::sync::changes::Change;

/// Keys kept at most before those of older heads are forgotten.
const MAX_KEYS: usize = 1_024;

/// The documents part of a page: the changes, the feed position reached, whether more is left.
pub struct DocumentsPage {
    pub changes: Vec<Change>,
    pub position: i64,
    pub has_more: bool,
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct Key {
    committee: Arc<str>,
    after: i64,
    head: i64,
    limit: usize,
}

#[derive(Default)]
pub struct Pages {
    pages: Mutex<HashMap<Key, Arc<OnceCell<Arc<DocumentsPage>>>>>,
}

impl Pages {
    /// The page after `after` for `committee` at `head`: read by `read` once, shared by every poll that asks meanwhile.
    pub async fn get_or_read<F, R>(
        &self,
        committee: &Arc<str>,
        after: i64,
        head: i64,
        limit: usize,
        read: F,
    ) -> Result<Arc<DocumentsPage>, AppError>
    where
        F: FnOnce() -> R,
        R: Future<Output = Result<DocumentsPage, AppError>>,
    {
        let cell = {
            let mut pages = self.pages.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if pages.len() >= MAX_KEYS {
                pages.retain(|key, _| key.head >= head);
                if pages.len() >= MAX_KEYS {
                    pages.clear();
                }
            }
            let key = Key { committee: committee.clone(), after, head, limit };
            pages.entry(key).or_default().clone()
        };
        cell.get_or_try_init(|| async { read().await.map(Arc::new) }).await.cloned()
    }
}
