//! The Hanoi party-member handbook service: API, sync server and officers' dashboard.

pub mod app;
pub mod config;
pub mod db;
pub mod error;
pub mod ops;
pub mod org;
pub mod telemetry;
