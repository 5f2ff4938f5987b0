//! Devices and the sync feed: installations, the change feed with its cursors, and acknowledgements.

pub mod changes;
pub mod cursor;
pub mod demo;
pub mod feed;
pub mod installations;
pub mod push;
pub mod routes;
pub mod seen;
