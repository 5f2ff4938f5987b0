//! Devices and the sync feed: installations, the change feed with its cursors, and acknowledgements, and how far a
//! document has reached (`delivery`).

pub mod changes;
pub mod cursor;
pub mod delivery;
pub mod demo;
pub mod feed;
pub mod installations;
pub mod live;
pub mod push;
pub mod routes;
pub mod seen;
