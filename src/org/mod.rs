//! The organisation: the city's affiliated party committees, their units and cells, and members.

pub mod routes;
pub mod store;
