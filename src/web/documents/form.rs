//! The editor's form: its fields as typed (named as the API's fields), read from a urlencoded body or from a stored
//! draft, turned into the API's input, and the API's field errors in Vietnamese.

use crate::auth::AuthUser;
use crate::content::documents::{AudienceInput, DocumentRow, DraftInput, DraftPatch, RequiredInput, MAX_TITLE_CHARS};
use crate::error::FieldError;

use super::{from_hanoi_input, hanoi_input};

/// A time as the API takes it.
type Utc = chrono::DateTime<chrono::Utc>;

/// The editor's fields as typed (or as stored), kept as text so that a refused form shows them again unchanged.
#[derive(Clone, Debug, Default)]
pub(super) struct EditorForm {
    pub(super) csrf: Option<String>,
    /// The button pressed: `save`, `publish` or `preview`.
    pub(super) action: String,
    pub(super) title: String,
    pub(super) kind: String,
    pub(super) section: String,
    pub(super) body: String,
    /// `all`: the whole city.
    pub(super) all: bool,
    pub(super) committees: Vec<String>,
    /// `datetime-local` values, Hanoi time.
    pub(super) publish_at: String,
    pub(super) expires_at: String,
    /// Required reading by this time (`datetime-local`, Hanoi time); empty: not required.
    pub(super) required_due_at: String,
    /// Ask members to read the next published revision again.
    pub(super) reread: bool,
}

impl EditorForm {
    /// A posted form (`application/x-www-form-urlencoded`). A browser sends a textarea's new lines as CR LF: they
    /// are kept as LF, as the API receives them.
    pub(super) fn parse(body: &[u8]) -> EditorForm {
        let mut form = EditorForm::default();
        for (key, value) in url::form_urlencoded::parse(body) {
            match key.as_ref() {
                "csrf" => form.csrf = Some(value.into_owned()),
                "action" => form.action = value.into_owned(),
                "title" => form.title = value.into_owned(),
                "kind" => form.kind = value.into_owned(),
                "section" => form.section = value.into_owned(),
                "body" => form.body = value.replace("\r\n", "\n"),
                "all" => form.all = matches!(value.as_ref(), "true" | "on" | "1"),
                "committees" if !value.trim().is_empty() => form.committees.push(value.into_owned()),
                "publish_at" => form.publish_at = value.into_owned(),
                "expires_at" => form.expires_at = value.into_owned(),
                "required_due_at" => form.required_due_at = value.into_owned(),
                "reread" => form.reread = matches!(value.as_ref(), "true" | "on" | "1"),
                _ => {}
            }
        }
        form
    }

    /// A new document: an officer's audience is its committee, an admin's is not chosen yet.
    pub(super) fn blank(user: &AuthUser) -> EditorForm {
        EditorForm { committees: user.scope().into_committee().into_iter().collect(), ..EditorForm::default() }
    }

    /// The stored draft.
    pub(super) fn of_draft(row: &DocumentRow) -> EditorForm {
        EditorForm {
            title: row.title.clone(),
            kind: row.kind.to_string(),
            section: row.section.clone(),
            body: row.body.clone(),
            all: row.audience_all,
            committees: row.audience.split(',').filter(|c| !c.is_empty()).map(str::to_owned).collect(),
            publish_at: row.publish_at.map(hanoi_input).unwrap_or_default(),
            expires_at: row.expires_at.map(hanoi_input).unwrap_or_default(),
            required_due_at: row.draft_required_due_at.map(hanoi_input).unwrap_or_default(),
            ..EditorForm::default()
        }
    }

    /// The audience as the API takes it: both parts as ticked, so that the API's rule decides (one or the other).
    fn audience(&self) -> AudienceInput {
        AudienceInput {
            all: self.all.then_some(true),
            committees: (!self.committees.is_empty()).then(|| self.committees.clone()),
        }
    }

    /// The two times in UTC, or the errors of those that cannot be read.
    fn times(&self) -> Result<(Option<Utc>, Option<Utc>), Vec<FieldError>> {
        let unreadable = "Thời điểm không đọc được: hãy chọn ngày và giờ (giờ Hà Nội).";
        let publish_at = from_hanoi_input(&self.publish_at);
        let expires_at = from_hanoi_input(&self.expires_at);
        let mut errors = Vec::new();
        if publish_at.is_err() {
            errors.push(FieldError::new("publish_at", unreadable));
        }
        if expires_at.is_err() {
            errors.push(FieldError::new("expires_at", unreadable));
        }
        match (publish_at, expires_at) {
            (Ok(publish_at), Ok(expires_at)) => Ok((publish_at, expires_at)),
            _ => Err(errors),
        }
    }

    /// Required reading as the API takes it, or the error of a due date that cannot be read.
    fn required(&self) -> Result<Option<RequiredInput>, Vec<FieldError>> {
        match from_hanoi_input(&self.required_due_at) {
            Ok(due_at) => Ok(due_at.map(|due_at| RequiredInput { due_at, reread: self.reread })),
            Err(_) => {
                Err(vec![FieldError::new("required", "Hạn đọc không đọc được: hãy chọn ngày và giờ (giờ Hà Nội).")])
            }
        }
    }

    /// The body of `POST /api/v1/admin/documents` (errors already in Vietnamese).
    pub(super) fn draft_input(&self) -> Result<DraftInput, Vec<FieldError>> {
        let required = self.required();
        let (publish_at, expires_at) = self.times()?;
        let required = required?;
        Ok(DraftInput {
            title: self.title.clone(),
            kind: self.kind.clone(),
            section: self.section.clone(),
            body: self.body.clone(),
            audience: self.audience(),
            publish_at,
            expires_at,
            attachments: Vec::new(),
            required,
        })
    }

    /// The body of `PATCH /api/v1/admin/documents/{id}`: every field of the form (an emptied time is cleared), the
    /// attachments left as they are.
    pub(super) fn draft_patch(&self) -> Result<DraftPatch, Vec<FieldError>> {
        let required = self.required();
        let (publish_at, expires_at) = self.times()?;
        let required = required?;
        Ok(DraftPatch {
            title: Some(self.title.clone()),
            kind: Some(self.kind.clone()),
            section: Some(self.section.clone()),
            body: Some(self.body.clone()),
            audience: Some(self.audience()),
            publish_at: Some(publish_at),
            expires_at: Some(expires_at),
            attachments: None,
            required: Some(required),
        })
    }
}

/// The Vietnamese label of a field, as the form names it.
pub(super) fn field_label(field: &str) -> &'static str {
    match field {
        "title" => "Tiêu đề",
        "kind" => "Loại tài liệu",
        "section" => "Chuyên mục",
        "body" => "Nội dung",
        "audience" => "Đối tượng nhận",
        "publish_at" => "Đăng lúc",
        "expires_at" => "Hết hiệu lực lúc",
        "required" => "Hạn đọc bắt buộc",
        "attachments" | "file" | "name" => "Tệp đính kèm",
        _ => "Biểu mẫu",
    }
}

/// The API's field errors (English, for programs) as an officer reads them.
pub(super) fn in_vietnamese(errors: Vec<FieldError>) -> Vec<FieldError> {
    let mut out: Vec<FieldError> = Vec::new();
    for error in errors {
        let message = vietnamese_message(&error.field, &error.message);
        // The API may name one field several times (each unknown committee): say each thing once.
        if !out.iter().any(|e| e.field == error.field && e.message == message) {
            out.push(FieldError::new(error.field.clone(), message));
        }
    }
    out
}

/// The API's field errors in Vietnamese, one after the other, for a message that stands alone.
pub(super) fn in_one_message(errors: Vec<FieldError>) -> String {
    in_vietnamese(errors).into_iter().map(|e| e.message).collect::<Vec<_>>().join(" ")
}

fn vietnamese_message(field: &str, message: &str) -> String {
    match field {
        "title" => format!("Hãy nhập tiêu đề (tối đa {MAX_TITLE_CHARS} ký tự)."),
        "kind" => "Hãy chọn loại tài liệu.".to_owned(),
        "section" => "Chuyên mục dài tối đa 200 ký tự.".to_owned(),
        "body" => "Nội dung dài tối đa 1 MiB.".to_owned(),
        "audience" => match message.strip_prefix("no such committee: ") {
            Some(code) => format!("Không có đảng bộ mã {code}."),
            None if message.contains("officer") => {
                "Cán bộ đảng bộ chỉ gửi được tài liệu cho đảng bộ của mình.".to_owned()
            }
            None => "Hãy chọn toàn thành phố, hoặc một số đảng bộ (không chọn cả hai).".to_owned(),
        },
        "expires_at" => "Thời điểm hết hiệu lực phải sau thời điểm đăng.".to_owned(),
        "required" if message.starts_with("Hạn") => message.to_owned(),
        "required" => "Hạn đọc bắt buộc phải là một thời điểm sắp tới.".to_owned(),
        "attachments" => "Có tệp đính kèm không dùng được nữa: hãy gỡ tệp đó ra rồi tải lên lại.".to_owned(),
        "name" => "Tên tệp không hợp lệ: tối đa 255 ký tự, không chứa “/” hay “\\”.".to_owned(),
        "file" => "Tệp rỗng: hãy chọn một tệp PDF.".to_owned(),
        _ => "Giá trị không hợp lệ.".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_posted_form_reads_every_field_and_repeated_committees() {
        let body = "csrf=t&action=save&title=Ngh%E1%BB%8B+quy%E1%BA%BFt&kind=nghi_quyet&section=&body=a%0D%0Ab\
                    &committees=HK&committees=BD&publish_at=2026-12-01T08%3A00&expires_at=";
        let form = EditorForm::parse(body.as_bytes());
        assert_eq!(form.csrf.as_deref(), Some("t"));
        assert_eq!(form.action, "save");
        assert_eq!(form.title, "Nghị quyết");
        assert_eq!(form.body, "a\nb");
        assert_eq!(form.committees, ["HK", "BD"]);
        assert!(!form.all);
        let input = form.draft_input().unwrap();
        assert_eq!(input.publish_at.unwrap().to_rfc3339(), "2026-12-01T01:00:00+00:00");
        assert_eq!(input.expires_at, None);
        let bad = EditorForm { publish_at: "ngày mai".into(), ..form };
        assert_eq!(bad.draft_input().unwrap_err()[0].field, "publish_at");
    }

    #[test]
    fn api_errors_read_in_vietnamese() {
        let errors = in_vietnamese(vec![
            FieldError::new("title", "1 to 500 characters"),
            FieldError::new("audience", "no such committee: XX"),
            FieldError::new("audience", "an officer may address only its own committee"),
            FieldError::new("audience", "an officer may address only its own committee"),
        ]);
        assert_eq!(errors.len(), 3);
        assert_eq!(errors[0].message, "Hãy nhập tiêu đề (tối đa 500 ký tự).");
        assert_eq!(errors[1].message, "Không có đảng bộ mã XX.");
        assert!(errors.iter().all(|e| !e.message.is_ascii()));
    }
}
