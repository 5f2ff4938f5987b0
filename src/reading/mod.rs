//! Reading: what members confirm they have read (`read.mark` mutations), and the counters of required reading that
//! move with it.

pub mod counters;
