//! The one mapping of domain values stored as text: `text_enum!` declares an enum of states whose every variant is
//! spelled once, as the text the database, the JSON and the OpenAPI description share; `text_column!` stores any
//! type that has `Display` and `FromStr` (a token subject, `member:7`) the same way.

/// Declares an enum stored and sent as text: each variant names its text once (`Variant = "text"`), and the enum gets
/// `as_str`, `parse`, `ALL`, `Display`, `FromStr`, serde as that text, a string-enum `ToSchema`, and the diesel mapping of
/// `text_column!` (so `members::status.eq(MemberStatus::Left)` compiles on both backends).
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident = $text:tt),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
            diesel::AsExpression, diesel::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        $vis enum $name {
            $($(#[$variant_meta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in the order of the declaration.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The text that stands for the value in the database and on the wire.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// The value `text` stands for, if any (`FromStr` with the error left out).
            pub fn parse(text: &str) -> Option<$name> {
                text.parse().ok()
            }

            /// Every value's text, comma-separated: for the messages that name what is accepted.
            pub fn one_of() -> String {
                $name::ALL.iter().map(|value| value.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::db::text_enum::UnknownText;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::db::text_enum::UnknownText { kind: stringify!($name), text: text.to_owned() }),
                }
            }
        }

        $crate::db::text_enum::text_column!($name);
    };
}

/// Stores a type with `Display` and `FromStr` in a `Text` column, on PostgreSQL, SQLite and the `MultiBackend` of
/// `DbConnection` (which hands the value to the backend's own impl). The type derives `diesel::AsExpression` and
/// `diesel::FromSqlRow` with `#[diesel(sql_type = diesel::sql_types::Text)]`.
macro_rules! text_column {
    ($name:ty) => {
        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                use std::io::Write;
                write!(out, "{self}")?;
                Ok(diesel::serialize::IsNull::No)
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::sqlite::Sqlite> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::sqlite::Sqlite>,
            ) -> diesel::serialize::Result {
                out.set_value(self.to_string());
                Ok(diesel::serialize::IsNull::No)
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, $crate::db::MultiBackend> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, $crate::db::MultiBackend>,
            ) -> diesel::serialize::Result {
                out.set_value((diesel::sql_types::Text, self));
                Ok(diesel::serialize::IsNull::No)
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = <String as diesel::deserialize::FromSql<diesel::sql_types::Text, DB>>::from_sql(bytes)?;
                Ok(text.parse()?)
            }
        }
    };
}

pub(crate) use {text_column, text_enum};

/// A text that names no value of the type: a row written by hand, or a client's typo.
#[derive(Debug, thiserror::Error)]
#[error("{text:?} is not a {kind}")]
pub struct UnknownText {
    pub kind: &'static str,
    pub text: String,
}
