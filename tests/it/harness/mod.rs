//! The test harness, by concern:
//! - `app`: the real App in process (`TestApp`), what a client saw (`Answer`), and `both_backends!`;
//! - `databases`: a fresh SQLite file or a PostgreSQL database cloned from a migrated template per test;
//! - `fixtures`: committees, members, staff and their tokens;
//! - `sync_client`: the reference sync client;
//! - `console`: the staff console in process (sign-in form, session cookies, forms with the CSRF token);
//! - `routes`: the operations of the OpenAPI document and the dashboard's routes, for the tests that cover
//!   every route;
//! - `process`: the real binary in a process of its own;
//! - `s3`: a local S3 server (moto) and a bucket per test, for the attachment store;
//! - `browser`: the binary and headless Chromium (WebDriver), axe-core and screenshots, for the browser tests.

#[macro_use]
mod app;
pub mod browser;
pub mod console;
mod databases;
mod fixtures;
pub mod process;
pub mod routes;
pub mod s3;
pub mod sync_client;

pub use app::{Answer, Backend, Store, TestApp};
pub use databases::{at_once, postgres_admin_url, AT_ONCE};
pub use fixtures::{Organisation, MEMBERS_CSV, MEMBER_PASSWORD, STAFF_PASSWORD};
pub use sync_client::SyncClient;
