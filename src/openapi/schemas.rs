//! Shapes that answers share (`Items`, raw bytes) and schema helpers for route modules.
//! A leaf: it imports nothing from route modules.

use serde::Serialize;
use utoipa::ToSchema;

/// Raw bytes.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)] // described, never built: handlers stream the bytes
pub struct Binary(Vec<u8>);

/// `{"items": [...]}`: a whole list, not paged.
#[derive(Serialize, ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// A string schema that takes only `values`: for fields the code checks against a list of its own
/// (`#[schema(schema_with = …)]` on the field, through a function that names the list).
pub fn text_enum(values: &[&str]) -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(values.iter().copied()))
        .build()
}
