//! The Hanoi party-member handbook service: API, sync server and officers' dashboard.

pub mod app;
pub mod audit;
pub mod auth;
pub mod config;
pub mod content;
pub mod coverage;
pub mod csv_export;
pub mod db;
pub mod demo;
pub mod error;
pub mod files;
pub mod meetings;
pub mod openapi;
pub mod ops;
pub mod org;
pub mod paging;
pub mod reading;
pub mod state;
pub mod sync;
pub mod telemetry;
pub mod text;
pub mod time;
pub mod web;
