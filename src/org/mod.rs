//! The organisation: the city's affiliated party committees, their units and cells, members and staff.

pub mod demo;
pub mod import;
pub mod members;
pub mod routes;
pub mod staff;
pub mod store;
