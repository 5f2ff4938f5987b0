//! Cell meetings (sinh hoạt chi bộ): scheduled by cell secretaries, officers and admins; invitees answer and have
//! attendance recorded; statistics per committee, unit and cell.

use crate::db::text_enum::text_enum;

pub mod stats;

text_enum! {
    /// Whether a meeting still takes place.
    pub enum MeetingStatus {
        Scheduled = "scheduled",
        Cancelled = "cancelled",
    }
}

text_enum! {
    /// A member's position in its own cell (the member CSV's `position` column).
    pub enum Position {
        Secretary = "secretary",
        DeputySecretary = "deputy_secretary",
    }
}
