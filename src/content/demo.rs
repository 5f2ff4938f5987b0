//! The demo handbook: documents across every kind and section, some for one committee only, a few scheduled,
//! a few expired, a few with PDF attachments — published through the same code staff use.

use std::path::Path;

use crate::auth::{AuthUser, Role, Subject};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::org::demo::Random;
use crate::org::staff;
use chrono::Duration;

use super::attachments;
use super::documents::{self, AttachmentRef, AudienceInput, DraftInput};
use super::states::DocumentKind;

const SECTIONS: [&str; 8] = [
    "Văn kiện Đại hội XIII",
    "Nghị quyết Trung ương",
    "Chỉ thị của Thành ủy",
    "Quy định của Đảng",
    "Hướng dẫn nghiệp vụ công tác đảng",
    "Thông báo",
    "Tin tức thời sự",
    "Tài liệu sinh hoạt chi bộ",
];
const TOPICS: [&str; 10] = [
    "xây dựng, chỉnh đốn Đảng",
    "công tác phát triển đảng viên",
    "chuyển đổi số trong các cơ quan đảng",
    "học tập và làm theo tư tưởng, đạo đức, phong cách Hồ Chí Minh",
    "nâng cao chất lượng sinh hoạt chi bộ",
    "phòng, chống tham nhũng, tiêu cực",
    "công tác kiểm tra, giám sát",
    "phát triển kinh tế - xã hội Thủ đô",
    "công tác dân vận",
    "bảo vệ nền tảng tư tưởng của Đảng",
];
const SENTENCES: [&str; 6] = [
    "Các cấp ủy, tổ chức đảng quán triệt sâu sắc nội dung và tổ chức thực hiện nghiêm túc, hiệu quả.",
    "Mỗi cán bộ, đảng viên nêu cao tinh thần trách nhiệm, gương mẫu trong công tác và sinh hoạt.",
    "Chi bộ xây dựng kế hoạch cụ thể, phân công rõ người, rõ việc, rõ thời gian hoàn thành.",
    "Định kỳ sơ kết, đánh giá kết quả thực hiện và báo cáo cấp ủy cấp trên theo quy định.",
    "Tăng cường ứng dụng công nghệ thông tin, sử dụng Sổ tay đảng viên điện tử trong sinh hoạt chi bộ.",
    "Kịp thời biểu dương, khen thưởng tập thể, cá nhân có thành tích xuất sắc.",
];

/// A small, valid one-page PDF with a line of text (xref offsets computed, so readers accept it).
pub fn pdf(title: &str) -> Vec<u8> {
    let text: String = title.chars().filter(|c| c.is_ascii_alphanumeric() || *c == ' ').collect();
    let stream = format!("BT /F1 18 Tf 72 720 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_owned(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_owned(),
        format!("<< /Length {} >>\nstream\n{stream}\nendstream", stream.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_owned(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (index, object) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{object}\nendobj\n", index + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    out
}

fn body(random: &mut Random, topic: &str, paragraphs: usize) -> String {
    let mut text = format!("## Về {topic}\n\n");
    for n in 0..paragraphs {
        if n % 4 == 3 {
            text.push_str(&format!("### Mục {}\n\n", n / 4 + 1));
        }
        for _ in 0..4 {
            text.push_str(SENTENCES[random.below(SENTENCES.len() as u64) as usize]);
            text.push(' ');
        }
        text.push_str("\n\n");
    }
    text
}

/// Publishes `count` demo documents as the (disabled) `demo.publisher` admin account. Returns how many.
pub fn load(conn: &mut DbConnection, data_dir: &Path, count: usize, seed: u64) -> Result<usize, AppError> {
    let publisher = staff::ensure_demo_publisher(conn)?;
    let user = AuthUser { subject: Subject::Staff(publisher), role: Role::Admin, committee: None, session: None };
    let committees: Vec<String> = crate::org::store::list_committees(conn, None)?.into_iter().map(|c| c.code).collect();
    let mut random = Random::new(seed);
    let now = chrono::Utc::now();
    for n in 0..count {
        let kind = DocumentKind::ALL[n % DocumentKind::ALL.len()];
        let section = SECTIONS[n % SECTIONS.len()];
        let topic = TOPICS[random.below(TOPICS.len() as u64) as usize];
        let audience = if n % 10 < 7 || committees.is_empty() {
            AudienceInput { all: Some(true), committees: None }
        } else {
            let code = &committees[random.below(committees.len() as u64) as usize];
            AudienceInput { all: None, committees: Some(vec![code.clone()]) }
        };
        let title = format!("{} số {}-{}/TU về {topic}", kind.title(), n + 1, 2023 + (n % 4));
        let mut attachments = Vec::new();
        if n % 40 == 5 {
            let meta = attachments::store_bytes(
                conn,
                data_dir,
                &user,
                &pdf(&format!("Handbook {n}")),
                "application/pdf",
                &format!("phu-luc-{n}.pdf"),
            )?;
            attachments.push(AttachmentRef { sha256: meta.sha256, name: Some(meta.name) });
        }
        let (publish_at, expires_at) = match n % 40 {
            10 => (Some(now + Duration::days(1 + (n % 7) as i64)), None),
            20 => (None, Some(now - Duration::days(1))),
            _ => (None, None),
        };
        let paragraphs = 3 + random.below(12) as usize;
        let input = DraftInput {
            title,
            kind: kind.to_string(),
            section: section.to_owned(),
            body: body(&mut random, topic, paragraphs),
            audience,
            publish_at,
            expires_at,
            attachments,
        };
        let created = documents::create(conn, &user, input)?;
        documents::publish(conn, &user, &created.id)?;
    }
    Ok(count)
}
