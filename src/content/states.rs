//! The words of the handbook: the kinds of document, where a document's live revision stands (`documents.live_state`),
//! and the status staff see for it; the two are mapped both ways here and nowhere else.

use chrono::NaiveDateTime;

use crate::db::text_enum::text_enum;

text_enum! {
    /// The kinds of document the contract knows.
    pub enum DocumentKind {
        VanKien = "van_kien",
        NghiQuyet = "nghi_quyet",
        ChiThi = "chi_thi",
        QuyDinh = "quy_dinh",
        HuongDan = "huong_dan",
        ThongBao = "thong_bao",
        TinTuc = "tin_tuc",
        TaiLieu = "tai_lieu",
    }
}

impl DocumentKind {
    /// The Vietnamese name of the kind, as a title starts.
    pub fn title(self) -> &'static str {
        match self {
            DocumentKind::VanKien => "Văn kiện",
            DocumentKind::NghiQuyet => "Nghị quyết",
            DocumentKind::ChiThi => "Chỉ thị",
            DocumentKind::QuyDinh => "Quy định",
            DocumentKind::HuongDan => "Hướng dẫn",
            DocumentKind::ThongBao => "Thông báo",
            DocumentKind::TinTuc => "Tin tức",
            DocumentKind::TaiLieu => "Tài liệu",
        }
    }
}

text_enum! {
    /// Where a document's live revision stands, as stored in `documents.live_state`.
    pub enum LiveState {
        /// Never published: only a draft.
        Draft = "none",
        /// Published, its `publish_at` still ahead.
        Scheduled = "scheduled",
        /// Published and readable by its audience now.
        Visible = "visible",
        /// Published, its `expires_at` passed.
        Expired = "expired",
        /// Unpublished by staff: devices delete it.
        Withdrawn = "withdrawn",
    }
}

impl LiveState {
    /// Where a live revision with these times stands at `at`.
    pub fn at(publish_at: Option<NaiveDateTime>, expires_at: Option<NaiveDateTime>, at: NaiveDateTime) -> LiveState {
        if expires_at.is_some_and(|until| until <= at) {
            LiveState::Expired
        } else if publish_at.is_some_and(|from| from > at) {
            LiveState::Scheduled
        } else {
            LiveState::Visible
        }
    }

    /// Whether a revision is published (shown now, later or no more), so that it can be withdrawn.
    pub fn is_published(self) -> bool {
        matches!(self, LiveState::Visible | LiveState::Scheduled | LiveState::Expired)
    }

    /// The status staff see.
    pub fn status(self) -> DocumentStatus {
        match self {
            LiveState::Draft => DocumentStatus::Draft,
            LiveState::Scheduled => DocumentStatus::Scheduled,
            LiveState::Visible => DocumentStatus::Published,
            LiveState::Expired => DocumentStatus::Expired,
            LiveState::Withdrawn => DocumentStatus::Unpublished,
        }
    }
}

text_enum! {
    /// A document's status as staff see it.
    pub enum DocumentStatus {
        /// Never published.
        Draft = "draft",
        /// Published, its `publish_at` still ahead.
        Scheduled = "scheduled",
        /// Readable by its audience now.
        Published = "published",
        /// Its `expires_at` has passed.
        Expired = "expired",
        /// Withdrawn.
        Unpublished = "unpublished",
    }
}

impl DocumentStatus {
    /// The stored live state that shows as this status.
    pub fn live_state(self) -> LiveState {
        match self {
            DocumentStatus::Draft => LiveState::Draft,
            DocumentStatus::Scheduled => LiveState::Scheduled,
            DocumentStatus::Published => LiveState::Visible,
            DocumentStatus::Expired => LiveState::Expired,
            DocumentStatus::Unpublished => LiveState::Withdrawn,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_maps_to_one_live_state_and_back() {
        for status in DocumentStatus::ALL {
            assert_eq!(status.live_state().status(), *status);
        }
        for state in LiveState::ALL {
            assert_eq!(state.status().live_state(), *state);
        }
    }

    #[test]
    fn texts_read_back_as_their_values() {
        for kind in DocumentKind::ALL {
            assert_eq!(kind.as_str().parse::<DocumentKind>().unwrap(), *kind);
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.as_str());
        }
        assert_eq!(LiveState::Draft.as_str(), "none");
        assert!("poem".parse::<DocumentKind>().is_err());
    }
}
