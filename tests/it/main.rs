//! The one test binary: every suite is a module here, so the crate is linked once and the suites share one
//! harness (`harness/`). Each module was a test binary of its own before; a test's name is now
//! `<module>::<test>` (and `…::sqlite` / `…::postgres` for the tests of `both_backends!`), e.g.
//! `cargo test -- auth::refresh_rotates_and_reuse_revokes_the_family`.
//!
//! The tests run in parallel threads of one process: none of them may change process-wide state (environment,
//! umask, current folder). The tests that need such state (the CLI, crash and instance tests) start the real
//! binary in a process of its own (`harness::process`).

#[macro_use]
mod harness;

mod access;
mod attachment_stores;
mod attachments;
mod auth;
mod cli;
mod console_browser;
mod console_demo;
mod console_documents;
mod console_meetings;
mod console_members;
mod console_reading;
mod console_staff;
mod content;
mod coverage;
mod crash;
mod dashboard;
mod domain;
mod foundation;
mod installations;
mod instances;
mod jobs;
mod live_sync;
mod meeting_stats;
mod meetings;
mod migrations;
mod nul;
mod openapi;
mod org;
mod push;
mod reading;
mod security_auth;
mod sync;
