//! Reading: what members confirm they have read (`read.mark` mutations), required reading, and its read coverage
//! per committee, unit and cell, from counters that move with every read.

pub mod counters;
pub mod demo;
pub mod report;
pub mod routes;
