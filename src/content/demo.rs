//! The demo handbook: documents across every kind and section as the city's editors and a few committees' officers
//! wrote them over the last five months. Most are published; some were edited and republished (several revisions,
//! by different staff), a few restored to their first text; some are scheduled, some expired, some withdrawn, a few
//! still drafts; some address one or two committees; some carry PDF attachments.
//!
//! Every step goes through the functions staff use (create, upload, update, publish, unpublish, restore, and the
//! scheduler's `run_due`), in the order of a made-up timeline. Each step is then dated back to its time on that
//! timeline — the rows it wrote and its audit entry — and a publish gets the state it had at that time: a document
//! that has expired since was visible when it was published, and the scheduler expires it at its time, with a feed
//! position of its own. So feed positions follow the timeline, and a published document's `updated_at` is the time
//! of its newest feed position, which is what `sync::demo` reads to know what a device had acknowledged when it was
//! last seen ([`feed_timeline`]).

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::audit::demo::{date_entries_since, last_entry};
use crate::auth::{AuthUser, Role, Subject};
use crate::db::schema::{attachments as att, audit_log, committees, document_revisions as rev, documents as d};
use crate::db::DbConnection;
use crate::error::AppError;
use crate::org::demo::{self as org_demo, Random};

use super::attachments;
use super::documents::{self, AttachmentRef, AudienceInput, DraftInput, DraftPatch, RequiredInput};
use super::schedule;
use super::states::{DocumentKind, LiveState};

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
const AMENDMENTS: [&str; 4] = [
    "Bổ sung chỉ tiêu: 100% chi bộ tổ chức sinh hoạt chuyên đề ít nhất một lần mỗi quý.",
    "Điều chỉnh thời hạn báo cáo sơ kết: trước ngày 15 của tháng cuối quý.",
    "Làm rõ trách nhiệm của bí thư chi bộ trong việc đôn đốc đảng viên cài đặt và sử dụng Sổ tay.",
    "Sửa đổi phụ lục biểu mẫu theo hướng dẫn mới của Ban Tổ chức Thành ủy.",
];
/// The committees whose officers publish documents of their own in the demo.
const PUBLISHING_COMMITTEES: [&str; 6] = ["HK", "BD", "DD", "CG", "HBT", "LB"];
/// How many of the newest city-wide resolutions and directives are required reading.
const REQUIRED: usize = 2;

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

/// The body of revision `round` + 1: the first paragraph reworded and an amendment added, so that a diff shows both.
fn amended(body: &str, round: u32, random: &mut Random) -> String {
    let mut paragraphs: Vec<String> = body.split("\n\n").map(str::to_owned).collect();
    if paragraphs.len() > 1 {
        paragraphs[1] = SENTENCES[random.below(SENTENCES.len() as u64) as usize].to_owned();
    }
    let amendment = AMENDMENTS[random.below(AMENDMENTS.len() as u64) as usize];
    format!("{}### Sửa đổi, bổ sung lần {round}\n\n{amendment}\n\n", paragraphs.join("\n\n"))
}

/// What becomes of a demo document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    Published,
    /// Edited and republished this many times.
    Revised(u32),
    /// Edited and republished twice, then its first revision restored.
    Restored,
    Scheduled,
    Expired,
    Draft,
    Unpublished,
}

fn fate(n: usize) -> Fate {
    match n % 40 {
        10 | 30 => Fate::Scheduled,
        20 | 35 => Fate::Expired,
        15 | 39 => Fate::Draft,
        25 => Fate::Unpublished,
        1 | 21 => Fate::Restored,
        m if m % 5 == 1 => Fate::Revised(1 + u32::from(n.is_multiple_of(3))),
        _ => Fate::Published,
    }
}

/// One step of the timeline; `by` is the index of the staff account who takes it.
#[derive(Clone, Copy, Debug)]
enum Step {
    Upload(usize),
    Create,
    Edit(u32),
    Publish,
    Restore,
    Unpublish,
    Expire,
}

struct Event {
    at: NaiveDateTime,
    doc: usize,
    step: Step,
    by: usize,
}

/// A document as planned, and what the steps taken so far made of it.
struct Planned {
    title: String,
    kind: DocumentKind,
    section: &'static str,
    body: String,
    audience: AudienceInput,
    publish_at: Option<NaiveDateTime>,
    expires_at: Option<NaiveDateTime>,
    pdfs: Vec<(String, Vec<u8>)>,
    id: Option<String>,
    attachments: Vec<AttachmentRef>,
    /// Required reading for its audience, with this due date.
    required: Option<NaiveDateTime>,
}

/// The abbreviation of a kind in a document number (`12-NQ/TU`).
fn abbreviation(kind: DocumentKind) -> &'static str {
    match kind {
        DocumentKind::VanKien => "VK",
        DocumentKind::NghiQuyet => "NQ",
        DocumentKind::ChiThi => "CT",
        DocumentKind::QuyDinh => "QĐ",
        DocumentKind::HuongDan => "HD",
        DocumentKind::ThongBao => "TB",
        DocumentKind::TinTuc => "TT",
        DocumentKind::TaiLieu => "TL",
    }
}

/// Between `from` and `to` hours, to the minute.
fn hours(random: &mut Random, from: i64, to: i64) -> Duration {
    Duration::minutes(60 * from + random.below((60 * (to - from)).max(1) as u64) as i64)
}

/// Feed steps (publishing, withdrawing, expiring) happen at the latest this long before `now`: a device seen since
/// then has acknowledged the newest position of its committee (most are), the others are behind.
const QUIET_HOURS: i64 = 36;

/// Loads `count` demo documents (unless `count` is 0) as the demo staff (made if missing, see
/// `org::demo::ensure_staff`). Returns (documents published at least once, drafts).
pub fn load(
    conn: &mut DbConnection,
    blobs: &attachments::BlobStore,
    count: usize,
    seed: u64,
    now: NaiveDateTime,
) -> Result<(usize, usize), AppError> {
    if count == 0 {
        return Ok((0, 0));
    }
    org_demo::ensure_staff(conn, now)?;
    let accounts = org_demo::staff_accounts(conn)?;
    let users: Vec<AuthUser> = accounts
        .iter()
        .map(|(_, id, committee)| AuthUser {
            subject: Subject::Staff(*id),
            role: if committee.is_some() { Role::Officer } else { Role::Admin },
            committee: committee.clone(),
            session: None,
        })
        .collect();
    let editors: Vec<usize> = (0..users.len()).filter(|i| users[*i].role == Role::Admin).collect();
    if editors.is_empty() {
        return Err(AppError::Conflict("the demo editors are missing".into()));
    }
    let officers: BTreeMap<&str, usize> =
        accounts.iter().enumerate().filter_map(|(i, (_, _, c))| c.as_deref().map(|c| (c, i))).collect();
    let publishing: Vec<&str> = PUBLISHING_COMMITTEES.iter().copied().filter(|c| officers.contains_key(c)).collect();
    let codes: Vec<String> = committees::table.select(committees::code).order(committees::code).load(conn)?;

    let mut random = Random::new(seed);
    let cap = now - Duration::hours(QUIET_HOURS);
    let first = now - Duration::days(150);
    let last = now - Duration::days(4);
    let mut plans = Vec::with_capacity(count);
    let mut events = Vec::new();
    let mut numbers: BTreeMap<(&str, Option<&str>), usize> = BTreeMap::new();
    for n in 0..count {
        let fate = fate(n);
        let topic = TOPICS[random.below(TOPICS.len() as u64) as usize];
        // Who writes it, and for whom: mostly the city's editors for everyone; every tenth an officer for its own
        // committee; every twentieth an editor for two committees.
        let (author, audience, committee) = if n % 10 == 7 && !publishing.is_empty() {
            let code = publishing[(n / 10) % publishing.len()];
            (officers[code], AudienceInput { all: None, committees: Some(vec![code.to_owned()]) }, Some(code))
        } else if n % 20 == 9 && codes.len() >= 2 {
            let one = random.below(codes.len() as u64) as usize;
            let other = (one + 1 + random.below(codes.len() as u64 - 1) as usize) % codes.len();
            let pair = vec![codes[one].clone(), codes[other].clone()];
            (editors[n % editors.len()], AudienceInput { all: None, committees: Some(pair) }, None)
        } else {
            (editors[n % editors.len()], AudienceInput { all: Some(true), committees: None }, None)
        };
        let kind = if committee.is_some() {
            [DocumentKind::ThongBao, DocumentKind::HuongDan, DocumentKind::TaiLieu][n / 10 % 3]
        } else {
            DocumentKind::ALL[n % DocumentKind::ALL.len()]
        };
        let section = SECTIONS[n % SECTIONS.len()];
        let created = match fate {
            Fate::Scheduled => now - hours(&mut random, 48, 144),
            Fate::Draft => now - hours(&mut random, 2, 12 * 24),
            _ => (first + (last - first) * n as i32 / count as i32 + hours(&mut random, 0, 8))
                .min(cap - Duration::hours(2)),
        };
        let number = numbers.entry((kind.as_str(), committee)).or_default();
        *number += 1;
        // Numbered as the Party numbers its documents: `12-NQ/TU` by the city (Thành ủy), `3-TB/QU` by a district.
        let issuer = if committee.is_some() { "QU" } else { "TU" };
        let title = match kind {
            DocumentKind::TinTuc => format!("Tin tức: Hà Nội đẩy mạnh {topic}"),
            DocumentKind::TaiLieu => format!("Tài liệu sinh hoạt chi bộ tháng {}: {topic}", created.format("%m/%Y")),
            _ => format!("{} số {}-{}/{issuer} về {topic}", kind.title(), number, abbreviation(kind)),
        };
        let pdf_count = if n % 40 == 5 { 2 } else { usize::from(n % 10 == 5 || n % 40 == 30) };
        let pdfs: Vec<(String, Vec<u8>)> = (0..pdf_count)
            .map(|k| {
                let (label, file) = if k == 0 { ("Phu luc", "phu-luc") } else { ("Bieu mau", "bieu-mau") };
                (format!("{file}-{}.pdf", n + 1), pdf(&format!("{label} {} so {}", abbreviation(kind), n + 1)))
            })
            .collect();
        let paragraphs = 3 + random.below(12) as usize;
        let mut plan = Planned {
            title,
            kind,
            section,
            body: body(&mut random, topic, paragraphs),
            audience,
            publish_at: None,
            expires_at: None,
            pdfs,
            id: None,
            attachments: Vec::new(),
            required: None,
        };
        for k in 0..plan.pdfs.len() {
            events.push(Event {
                at: created - Duration::minutes(7 * (k as i64 + 1)),
                doc: n,
                step: Step::Upload(k),
                by: author,
            });
        }
        events.push(Event { at: created, doc: n, step: Step::Create, by: author });
        // A different editor revises (on an officer's document too: the city corrects it).
        let reviser = editors[(n + 1) % editors.len()];
        let published = (created + hours(&mut random, 1, 40)).min(cap);
        match fate {
            Fate::Draft => {
                let edited = created + hours(&mut random, 1, 30);
                if edited < now - Duration::minutes(10) {
                    events.push(Event { at: edited, doc: n, step: Step::Edit(0), by: author });
                }
            }
            Fate::Published | Fate::Scheduled => {
                if fate == Fate::Scheduled {
                    let day = (now + Duration::days(1 + random.below(8) as i64)).date();
                    plan.publish_at = Some(day.and_hms_opt(1, 0, 0).expect("01:00 UTC, 08:00 in Hanoi"));
                }
                events.push(Event { at: published, doc: n, step: Step::Publish, by: author });
            }
            Fate::Revised(_) | Fate::Restored => {
                events.push(Event { at: published, doc: n, step: Step::Publish, by: author });
                let rounds = if let Fate::Revised(k) = fate { k } else { 2 };
                let mut at = published;
                let mut done = 0;
                for round in 1..=rounds {
                    at += hours(&mut random, 48, 14 * 24);
                    if at > cap {
                        break;
                    }
                    events.push(Event { at: at - Duration::minutes(50), doc: n, step: Step::Edit(round), by: reviser });
                    events.push(Event { at, doc: n, step: Step::Publish, by: reviser });
                    done = round;
                }
                let restored = at + hours(&mut random, 24, 5 * 24);
                if fate == Fate::Restored && done == rounds && restored <= cap {
                    events.push(Event { at: restored, doc: n, step: Step::Restore, by: author });
                }
            }
            Fate::Expired => {
                let until = (published + hours(&mut random, 10 * 24, 40 * 24)).min(cap);
                let until = until.max(published + Duration::hours(1));
                plan.expires_at = Some(until);
                events.push(Event { at: published, doc: n, step: Step::Publish, by: author });
                events.push(Event { at: until, doc: n, step: Step::Expire, by: author });
            }
            Fate::Unpublished => {
                let withdrawn =
                    (published + hours(&mut random, 3 * 24, 20 * 24)).min(cap).max(published + Duration::minutes(30));
                events.push(Event { at: published, doc: n, step: Step::Publish, by: author });
                events.push(Event { at: withdrawn, doc: n, step: Step::Unpublish, by: author });
            }
        }
        plans.push(plan);
    }
    // The city's two newest resolutions or directives for everyone are required reading, due in two and four weeks:
    // the reading pages have a campaign to follow (their reads come with the devices, `reading::demo`).
    let newest: Vec<usize> = (0..count)
        .rev()
        .filter(|n| {
            let plan = &plans[*n];
            fate(*n) == Fate::Published
                && plan.audience.all == Some(true)
                && matches!(plan.kind, DocumentKind::NghiQuyet | DocumentKind::ChiThi)
        })
        .take(REQUIRED)
        .collect();
    for (k, n) in newest.into_iter().enumerate() {
        plans[n].required = Some(now + Duration::days(14 * (k as i64 + 1)));
    }
    // In the order of the timeline (a stable sort: a document's steps at one time keep their order).
    events.sort_by_key(|e| e.at);

    let mut published = vec![false; count];
    for event in events {
        let user = &users[event.by];
        let plan = &mut plans[event.doc];
        let before = last_entry(conn)?;
        let at = event.at;
        match event.step {
            Step::Upload(k) => {
                let (name, bytes) = &plan.pdfs[k];
                let meta = attachments::store_bytes(conn, blobs, user, bytes, "application/pdf", name)?;
                diesel::update(att::table.find(&meta.sha256)).set(att::created_at.eq(at)).execute(conn)?;
                plan.attachments.push(AttachmentRef { sha256: meta.sha256, name: Some(meta.name) });
            }
            Step::Create => {
                let input = DraftInput {
                    title: plan.title.clone(),
                    kind: plan.kind.to_string(),
                    section: plan.section.to_owned(),
                    body: plan.body.clone(),
                    audience: plan.audience.clone(),
                    publish_at: plan.publish_at.map(|t| t.and_utc()),
                    expires_at: plan.expires_at.map(|t| t.and_utc()),
                    attachments: plan.attachments.clone(),
                    required: plan.required.map(|due| RequiredInput { due_at: due.and_utc(), reread: false }),
                };
                let created = documents::create(conn, user, input)?;
                diesel::update(d::table.find(&created.id))
                    .set((d::created_at.eq(at), d::updated_at.eq(at)))
                    .execute(conn)?;
                plan.id = Some(created.id);
            }
            Step::Edit(round) => {
                let id = plan.id.clone().expect("created first");
                let patch = if round == 0 {
                    DraftPatch {
                        body: Some(format!("{}Dự thảo, xin ý kiến các ban trước khi ban hành.\n", plan.body)),
                        ..DraftPatch::default()
                    }
                } else {
                    plan.body = amended(&plan.body, round, &mut random);
                    let title = if round == 1 {
                        format!("{} (sửa đổi, bổ sung)", plan.title)
                    } else {
                        plan.title.clone()
                    };
                    DraftPatch { title: Some(title), body: Some(plan.body.clone()), ..DraftPatch::default() }
                };
                documents::update(conn, user, &id, patch)?;
                diesel::update(d::table.find(&id)).set(d::updated_at.eq(at)).execute(conn)?;
            }
            Step::Publish | Step::Restore => {
                let id = plan.id.clone().expect("created first");
                let result = match event.step {
                    Step::Restore => documents::restore(conn, user, &id, 1)?,
                    _ => documents::publish(conn, user, &id)?,
                };
                published[event.doc] = true;
                let (publish_at, expires_at): (Option<NaiveDateTime>, Option<NaiveDateTime>) =
                    d::table.find(&id).select((d::live_publish_at, d::live_expires_at)).get_result(conn)?;
                // Where the revision stood when it was published (an expired document was visible then).
                let state = LiveState::at(publish_at, expires_at, at);
                diesel::update(rev::table.find((&id, result.revision))).set(rev::published_at.eq(at)).execute(conn)?;
                diesel::update(d::table.find(&id))
                    .set((d::live_published_at.eq(at), d::updated_at.eq(at), d::live_state.eq(state)))
                    .execute(conn)?;
                if state.status() != result.status {
                    restate_entries(conn, before, state)?;
                }
            }
            Step::Unpublish => {
                let id = plan.id.clone().expect("created first");
                documents::unpublish(conn, user, &id)?;
                diesel::update(d::table.find(&id)).set(d::updated_at.eq(at)).execute(conn)?;
            }
            Step::Expire => {
                let id = plan.id.clone().expect("created first");
                schedule::run_due(conn, at)?;
                diesel::update(d::table.find(&id)).set(d::updated_at.eq(at)).execute(conn)?;
            }
        }
        date_entries_since(conn, before, at)?;
    }
    let published = published.iter().filter(|p| **p).count();
    Ok((published, count - published))
}

/// The publish entries written after `after` as they read at the time the demo dates them to: the status then.
fn restate_entries(conn: &mut DbConnection, after: i64, state: LiveState) -> QueryResult<()> {
    let entries: Vec<(i64, String)> =
        audit_log::table.filter(audit_log::id.gt(after)).select((audit_log::id, audit_log::detail)).load(conn)?;
    for (id, detail) in entries {
        let mut value: serde_json::Value = serde_json::from_str(&detail).unwrap_or_default();
        if let Some(status) = value.get_mut("status") {
            *status = serde_json::to_value(state.status()).expect("a status serialises");
            diesel::update(audit_log::table.find(id)).set(audit_log::detail.eq(value.to_string())).execute(conn)?;
        }
    }
    Ok(())
}

/// The feed's positions and when each was reached, oldest first, as the demo handbook leaves them: every document's
/// newest position and its `updated_at` (see the module's note), times made non-decreasing.
pub fn feed_timeline(conn: &mut DbConnection) -> QueryResult<Vec<(i64, NaiveDateTime)>> {
    let mut positions: Vec<(i64, NaiveDateTime)> =
        d::table.filter(d::feed_seq.gt(0)).select((d::feed_seq, d::updated_at)).order(d::feed_seq).load(conn)?;
    // A later position reached at an earlier time would mean the clock went back: read it as reached at once.
    for i in (0..positions.len().saturating_sub(1)).rev() {
        positions[i].1 = positions[i].1.min(positions[i + 1].1);
    }
    Ok(positions)
}
