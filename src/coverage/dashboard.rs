//! The officers' dashboard at /dashboard (being built).

pub fn configure(_cfg: &mut actix_web::web::ServiceConfig) {}
