//! The forms of the staff, audit and account pages: their fields read from a urlencoded body or a query string
//! (whatever the request's declared type: a missing field is an empty one, never an English 400), and their errors
//! in Vietnamese. The rules stay where they are (`auth::password`, `org::staff`, `audit`, `auth::sign_in`): only
//! their API messages are translated here, each matched against the constant the rule itself uses.

use actix_web::HttpRequest;
use maud::{html, Markup};

use crate::auth::password::Refusal;
use crate::error::FieldError;
use crate::{audit, auth, org};

/// The fields of a form, in the order they came.
pub(super) struct Fields(Vec<(String, String)>);

impl Fields {
    /// A urlencoded form body.
    pub(super) fn parse(body: &[u8]) -> Fields {
        Fields(url::form_urlencoded::parse(body).map(|(key, value)| (key.into_owned(), value.into_owned())).collect())
    }

    /// The query string of a GET form.
    pub(super) fn query(req: &HttpRequest) -> Fields {
        Fields::parse(req.query_string().as_bytes())
    }

    /// The first value of `name`, if the form has one.
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    /// The first value of `name`, or empty.
    pub(super) fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().to_owned()
    }
}

/// What is wrong with a form: (field, message in Vietnamese), in the order of the form.
#[derive(Default)]
pub(super) struct FormErrors(Vec<(String, String)>);

impl FormErrors {
    /// The field errors of `AppError::Validation`, in Vietnamese.
    pub(super) fn from_validation(errors: &[FieldError]) -> FormErrors {
        FormErrors(errors.iter().map(|e| (e.field.clone(), vietnamese(&e.field, &e.message))).collect())
    }

    pub(super) fn add(&mut self, field: &str, message: &str) {
        self.0.push((field.to_owned(), message.to_owned()));
    }

    /// Whether the form is fine.
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The message about `field`, if any.
    pub(super) fn on(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|(f, _)| f == field).map(|(_, message)| message.as_str())
    }

    /// The list at the top of the form (nothing when all is well).
    pub(super) fn summary(&self) -> Markup {
        html! {
            @if !self.0.is_empty() {
                div.errors role="alert" {
                    p { "Chưa thực hiện được. Vui lòng sửa:" }
                    ul {
                        @for (_, message) in &self.0 { li { (message) } }
                    }
                }
            }
        }
    }

    /// The message next to a field (its id is `<id>-error`, for the input's `aria-describedby`).
    pub(super) fn next_to(&self, id: &str, field: &str) -> Markup {
        html! {
            @if let Some(message) = self.on(field) {
                p.field-error id=(format!("{id}-error")) { (message) }
            }
        }
    }

    /// The `aria-describedby` of a field's input: its hint (the id given, if any), then its error, if it has one.
    pub(super) fn described_by(&self, id: &str, field: &str, hint: Option<&str>) -> Option<String> {
        let error = self.on(field).map(|_| format!("{id}-error"));
        let ids: Vec<String> = hint.map(str::to_owned).into_iter().chain(error).collect();
        (!ids.is_empty()).then(|| ids.join(" "))
    }

    /// `aria-invalid` of a field's input: set when it has an error.
    pub(super) fn invalid(&self, field: &str) -> Option<&'static str> {
        self.on(field).map(|_| "true")
    }
}

/// An API field error in the words an officer reads.
pub(super) fn vietnamese(field: &str, message: &str) -> String {
    if let Some(refusal) = Refusal::from_message(message) {
        return password_refusal(refusal).to_owned();
    }
    let text = match (field, message) {
        ("login", org::staff::LOGIN_RULE) => {
            "Tên đăng nhập dài 3–64 ký tự: bắt đầu bằng một chữ cái thường không dấu (a–z), tiếp theo là chữ \
             thường, chữ số, dấu chấm, gạch dưới hoặc gạch ngang."
        }
        ("role", org::staff::ROLE_RULE) => "Hãy chọn vai trò: cán bộ đảng bộ hoặc quản trị viên.",
        ("committee_code", org::staff::OFFICER_NEEDS_COMMITTEE) => "Cán bộ đảng bộ phải thuộc một đảng bộ: hãy chọn.",
        ("committee_code", org::staff::ADMIN_HAS_NO_COMMITTEE) => {
            "Quản trị viên không thuộc đảng bộ nào: hãy để trống ô đảng bộ."
        }
        ("committee_code", org::staff::NO_SUCH_COMMITTEE) => "Không có đảng bộ này.",
        ("current_password", auth::sign_in::WRONG_CURRENT_PASSWORD) => "Mật khẩu hiện tại không đúng.",
        ("from", audit::NOT_A_DATE) => "Ngày “từ” không hợp lệ (ngày/tháng/năm).",
        ("to", audit::NOT_A_DATE) => "Ngày “đến” không hợp lệ (ngày/tháng/năm).",
        ("to", audit::TO_BEFORE_FROM) => "Ngày “đến” không được trước ngày “từ”.",
        ("after", _) => "Liên kết phân trang không hợp lệ: hãy quay về trang đầu.",
        _ => "Giá trị không hợp lệ.",
    };
    text.to_owned()
}

/// Why a new password was refused, in Vietnamese (`auth::password::check_new` decides).
fn password_refusal(refusal: Refusal) -> &'static str {
    match refusal {
        Refusal::Nul => "Mật khẩu chứa ký tự không được phép.",
        Refusal::Blank => "Mật khẩu không được chỉ gồm dấu cách.",
        Refusal::TooShort => "Mật khẩu phải có ít nhất 8 ký tự.",
        Refusal::TooLong => "Mật khẩu không được dài quá 128 ký tự.",
        Refusal::LoginName => "Mật khẩu không được trùng với tên đăng nhập.",
        Refusal::Common => "Mật khẩu này quá phổ biến nên dễ bị đoán: hãy chọn mật khẩu khác.",
    }
}

/// The rule of new passwords, as the forms explain it beside the field.
pub(super) const PASSWORD_HINT: &str =
    "Từ 8 đến 128 ký tự; không trùng tên đăng nhập và không phải một mật khẩu phổ biến. Nên dùng một cụm từ dễ nhớ.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_password_refusal_has_its_own_vietnamese_words() {
        let words: std::collections::BTreeSet<String> =
            Refusal::ALL.into_iter().map(|refusal| vietnamese("new_password", &refusal.message())).collect();
        assert_eq!(words.len(), Refusal::ALL.len());
        assert!(!words.contains("Giá trị không hợp lệ."));
    }
}
