//! The console in headless Chromium against the real binary, on SQLite and on PostgreSQL: the main flows of the
//! staff, every page checked by axe-core and photographed at 1280 and 360 px (`target/screenshots/`).

use std::time::Duration;

use crate::harness::browser::{wait_until, Browser, Site, OFFICER};
use crate::harness::Backend;

/// The coverage pages: the admin sees the 48 committees of the demo data and drills into one; the officer of HK
/// sees HK only and is told another committee does not exist.
fn coverage_pages(backend: Backend) {
    let site = Site::start(backend, &["--members", "2000", "--documents", "20"]);
    let browser = Browser::start();

    browser.go(&site.url("/dashboard/login"));
    browser.check_page(&site.named("login"));

    browser.sign_in(&site, "admin", &site.admin_password);
    let page = browser.text();
    assert!(page.contains("Toàn thành phố") && page.contains("418.000"), "{page}");
    let committees = "table.committees tbody tr td a[href^='/dashboard/committees/']:not([href$='.csv'])";
    assert_eq!(browser.find_all(committees).len(), 48, "{page}");
    browser.check_page(&site.named("coverage-admin"));
    browser.click("a[href='/dashboard/committees/HK']");
    browser.wait_for_path("/dashboard/committees/HK");
    assert!(browser.text().contains("Đơn vị / Chi bộ"));
    browser.check_page(&site.named("coverage-HK"));
    browser.sign_out();
    browser.go(&site.url("/dashboard"));
    browser.wait_for_path("/dashboard/login");

    browser.sign_in(&site, OFFICER.0, OFFICER.1);
    let page = browser.text();
    assert_eq!(browser.find_all(committees).len(), 1, "{page}");
    assert_eq!(browser.find_all("a[href='/dashboard/committees/HK']").len(), 1, "{page}");
    assert!(!page.contains("Toàn thành phố"), "{page}");
    browser.check_page(&site.named("coverage-officer"));
    browser.go(&site.url("/dashboard/committees/BD"));
    wait_until("the 404 page", Duration::from_secs(30), || browser.text().contains("Không tìm thấy"));
    browser.check_page(&site.named("not-found"));
    browser.sign_out();
}

#[test]
fn coverage_pages_on_sqlite() {
    coverage_pages(Backend::Sqlite);
}

#[test]
fn coverage_pages_on_postgres() {
    coverage_pages(Backend::Postgres);
}

/// Staff and audit: the admin creates an officer of BD from the page; the audit log lists it; the account page;
/// the new officer signs in, sees BD only, and is told HK's pages do not exist and the staff page is not for it.
fn staff_and_audit(backend: Backend) {
    let site = Site::start(backend, &["--members", "2000", "--documents", "20"]);
    let browser = Browser::start();
    browser.sign_in(&site, "admin", &site.admin_password);

    browser.go(&site.url("/dashboard/staff"));
    browser.wait_for_path("/dashboard/staff");
    browser.check_page(&site.named("staff"));
    browser.type_into("input[name=login]", "officer.bd2");
    browser.select("select[name=role]", "officer");
    browser.select("select[name=committee_code]", "BD");
    browser.type_into("input[name=password]", "Sen hồng nở trên hồ Tây 2026");
    browser.click("button[data-action=create-staff]");
    browser.wait_for_text("officer.bd2");
    assert_eq!(browser.path(), "/dashboard/staff");

    browser.go(&site.url("/dashboard/audit"));
    browser.wait_for_path("/dashboard/audit");
    let audit = browser.text();
    assert!(audit.contains("Tạo tài khoản cán bộ") && audit.contains("officer.bd2"), "{audit}");
    browser.check_page(&site.named("audit"));
    browser.go(&site.url("/dashboard/account"));
    browser.wait_for_path("/dashboard/account");
    browser.check_page(&site.named("account"));

    // Required reading: a resolution for the whole city, to be studied within a week.
    let admin = site.token("admin", &site.admin_password);
    let due = (chrono::Utc::now() + chrono::Duration::days(7)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let draft = serde_json::json!({"title": "Nghị quyết cần học tập", "kind": "nghi_quyet", "section": "Nghị quyết",
        "body": "Nội dung", "audience": {"all": true}, "required": {"due_at": due}});
    let (status, created) = site.api("POST", "/api/v1/admin/documents", &admin, &[], Some(&draft));
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, _) =
        site.api("POST", &format!("/api/v1/admin/documents/{id}/publish"), &admin, &[], Some(&serde_json::json!({})));
    assert_eq!(status, 200);
    browser.go(&site.url("/dashboard/reading"));
    browser.wait_for_text("Nghị quyết cần học tập");
    browser.check_page(&site.named("reading"));
    browser.go(&site.url(&format!("/dashboard/reading/{id}")));
    browser.wait_for_path(&format!("/dashboard/reading/{id}"));
    browser.check_page(&site.named("reading-document"));
    browser.go(&site.url(&format!("/dashboard/reading/{id}/HK")));
    browser.wait_for_path(&format!("/dashboard/reading/{id}/HK"));
    browser.check_page(&site.named("reading-HK"));
    browser.sign_out();

    browser.sign_in(&site, "officer.bd2", "Sen hồng nở trên hồ Tây 2026");
    assert_eq!(browser.find_all("a[href='/dashboard/committees/BD']").len(), 1);
    assert!(browser.find_all("a[href='/dashboard/committees/HK']").is_empty());
    for (path, answer) in [("/dashboard/committees/HK", "Không tìm thấy"), ("/dashboard/staff", "Không có quyền")]
    {
        browser.go(&site.url(path));
        wait_until(path, Duration::from_secs(30), || browser.text().contains(answer));
    }
    browser.go(&site.url("/dashboard/audit"));
    browser.wait_for_path("/dashboard/audit");
    browser.check_page(&site.named("audit-officer"));
    browser.sign_out();
}

#[test]
fn staff_and_audit_on_sqlite() {
    staff_and_audit(Backend::Sqlite);
}

#[test]
fn staff_and_audit_on_postgres() {
    staff_and_audit(Backend::Postgres);
}

/// Cell meetings: the admin browses the demo's meetings, one meeting's answers and attendance, the statistics of the
/// city and of HK; HK's officer sees its units and cells, and cancels a meeting of HK from its page.
fn meetings(backend: Backend) {
    let site = Site::start(backend, &["--members", "2000", "--documents", "20"]);
    let admin = site.token("admin", &site.admin_password);
    let starts_at = (chrono::Utc::now() + chrono::Duration::days(5)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let meeting = serde_json::json!({"committee_code": "HK", "unit": "Đảng bộ cơ sở số 1", "cell": "Chi bộ 1",
        "title": "Sinh hoạt chuyên đề", "starts_at": starts_at, "location": "Hội trường", "agenda": "1. Chuyên đề"});
    let (status, created) = site.api("POST", "/api/v1/meetings", &admin, &[], Some(&meeting));
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();

    let browser = Browser::start();
    browser.sign_in(&site, "admin", &site.admin_password);
    browser.click("nav.sections a[href='/dashboard/meetings']");
    browser.wait_for_path("/dashboard/meetings");
    assert!(browser.find_all("table.meetings tbody tr").len() > 10, "{}", browser.text());
    browser.check_page(&site.named("meetings"));
    // A meeting the demo held: answers and attendance.
    let held = "table.meetings tbody tr:nth-child(40) th a";
    browser.click(held);
    wait_until("a meeting's page", Duration::from_secs(30), || browser.text().contains("Trả lời của đảng viên"));
    browser.check_page(&site.named("meeting"));
    browser.go(&site.url("/dashboard/meetings/stats"));
    browser.wait_for_path("/dashboard/meetings/stats");
    assert!(browser.text().contains("Quận ủy Hoàn Kiếm"), "{}", browser.text());
    browser.check_page(&site.named("meeting-stats-city"));
    browser.click("table.meeting-stats a[href*='committee=HK']");
    wait_until("HK's statistics", Duration::from_secs(30), || browser.text().contains("Đơn vị và chi bộ"));
    browser.check_page(&site.named("meeting-stats-HK"));
    browser.sign_out();

    browser.sign_in(&site, OFFICER.0, OFFICER.1);
    browser.go(&site.url("/dashboard/meetings/stats"));
    wait_until("the officer's statistics", Duration::from_secs(30), || browser.text().contains("Đơn vị và chi bộ"));
    assert!(browser.find_all("input[name=committee]").is_empty());
    browser.check_page(&site.named("meeting-stats-officer"));
    browser.go(&site.url(&format!("/dashboard/meetings/{id}")));
    browser.wait_for_path(&format!("/dashboard/meetings/{id}"));
    browser.click("button[data-action=cancel]");
    browser.wait_for_text("Đã hủy cuộc sinh hoạt");
    browser.check_page(&site.named("meeting-cancelled"));
    let (status, shown) = site.api("GET", &format!("/api/v1/meetings/{id}"), &admin, &[], None);
    assert_eq!((status, shown["status"].as_str()), (200, Some("cancelled")), "{shown}");
    browser.sign_out();
}

#[test]
fn meetings_on_sqlite() {
    meetings(Backend::Sqlite);
}

#[test]
fn meetings_on_postgres() {
    meetings(Backend::Postgres);
}

/// A minimal valid PDF.
const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> \
endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

/// Documents: the admin writes a draft for HK with a PDF, previews it, publishes it; a member of HK receives it
/// through /api/v1/sync while a member of BD does not; the delivery count moves once the HK device acknowledges.
fn documents(backend: Backend) {
    let site = Site::start(backend, &["--members", "2000", "--documents", "20"]);
    let admin = site.token("admin", &site.admin_password);
    let (member_hk, device_hk) = site.member_with_device(&admin, "HK");
    let (member_bd, device_bd) = site.member_with_device(&admin, "BD");
    let browser = Browser::start();
    browser.sign_in(&site, "admin", &site.admin_password);

    browser.go(&site.url("/dashboard/documents"));
    browser.wait_for_path("/dashboard/documents");
    browser.check_page(&site.named("documents"));
    browser.click("a[data-action=new]");
    browser.wait_for_path("/dashboard/documents/new");
    browser.check_page(&site.named("document-new"));

    let title = "Nghị quyết thử nghiệm trên trình duyệt";
    browser.type_into("input[name=title]", title);
    browser.select("select[name=kind]", "nghi_quyet");
    browser.type_into("input[name=section]", "Nghị quyết");
    browser.type_into("textarea[name=body]", "# Mục đích\n\nNội dung **quan trọng**. <script>alert(1)</script>");
    browser.click("input[name=committees][value=HK]");
    browser.click("button[data-action=save]");
    wait_until("the draft's own page", Duration::from_secs(30), || {
        let path = browser.path();
        path.starts_with("/dashboard/documents/") && path != "/dashboard/documents/new"
    });
    let document_path = browser.path();
    let id = document_path.trim_start_matches("/dashboard/documents/").to_owned();

    let pdf = site.dir.join("ke-hoach.pdf");
    std::fs::write(&pdf, PDF).unwrap();
    browser.choose_file("input[name=file]", &pdf);
    browser.click("button[data-action=upload]");
    browser.wait_for_text("ke-hoach.pdf");

    browser.click("button[data-action=preview]");
    browser.wait_for_text("Mục đích");
    let preview = browser.text();
    assert!(preview.contains("<script>alert(1)</script>"), "markup in the body is shown as text: {preview}");
    browser.check_page(&site.named("document-preview"));

    browser.click("button[data-action=publish]");
    browser.wait_for_text("Đã đến thiết bị");
    assert_eq!(browser.path(), document_path);
    browser.check_page(&site.named("document-published"));
    let delivered = |browser: &Browser| {
        browser.go(&site.url(&document_path));
        browser.wait_for_text("Đã đến thiết bị");
        let element = browser.find("strong[data-delivery=acknowledged]");
        browser.call("GET", &format!("/element/{element}/text"), None).as_str().unwrap().to_owned()
    };
    assert_eq!(delivered(&browser), "0");

    let (changes, cursor) = site.sync_all(&member_hk, &device_hk);
    let received = changes.iter().find(|c| c["document"]["id"] == id.as_str()).expect("HK's member receives it");
    assert_eq!(received["document"]["title"], title);
    assert_eq!(received["document"]["attachments"][0]["name"], "ke-hoach.pdf");
    let (other, _) = site.sync_all(&member_bd, &device_bd);
    assert!(other.iter().all(|c| c["document"]["id"] != id.as_str()), "BD's member does not receive it");

    let ack = serde_json::json!({"installation_id": device_hk, "cursor": cursor});
    let (status, _) = site.api("POST", "/api/v1/sync/ack", &member_hk, &[], Some(&ack));
    assert_eq!(status, 204);
    assert_eq!(delivered(&browser), "1");

    browser.go(&site.url(&format!("{document_path}/revisions")));
    browser.wait_for_path(&format!("{document_path}/revisions"));
    browser.check_page(&site.named("document-revisions"));
    browser.sign_out();
}

#[test]
fn documents_on_sqlite() {
    documents(Backend::Sqlite);
}

#[test]
fn documents_on_postgres() {
    documents(Backend::Postgres);
}

/// Import and slips: HK's officer finds members, imports a CSV with a bad row (the dry run names its line, nothing
/// changes), then the fixed file; prints the activation slips: the PDF has one page per ten slips and every QR
/// code decodes to its slip's card number and code.
fn import_and_slips(backend: Backend) {
    let site = Site::start(backend, &["--members", "2000", "--documents", "20"]);
    let browser = Browser::start();
    browser.sign_in(&site, OFFICER.0, OFFICER.1);

    browser.go(&site.url("/dashboard/members?q=nguyen"));
    browser.wait_for_path("/dashboard/members");
    browser.check_page(&site.named("members"));
    browser.click("table a[href^='/dashboard/members/']");
    wait_until("a member's page", Duration::from_secs(30), || {
        browser.path().starts_with("/dashboard/members/9")
            || browser.path().chars().filter(|c| c.is_ascii_digit()).count() >= 6
    });
    browser.check_page(&site.named("member"));

    let header = "card_number,full_name,committee_code,unit,cell,status\n";
    let bad = format!("{header}990000001,Đỗ Văn Mới,HK,Phường Mới,Chi bộ 9,eligible\n990000002,Vũ Thị Mới,HK,Phường Mới,Chi bộ 9,sai\n");
    let fixed = bad.replace(",sai\n", ",eligible\n");
    let (bad_file, fixed_file) = (site.dir.join("bad.csv"), site.dir.join("fixed.csv"));
    std::fs::write(&bad_file, bad).unwrap();
    std::fs::write(&fixed_file, fixed).unwrap();

    browser.go(&site.url("/dashboard/members/import"));
    browser.wait_for_path("/dashboard/members/import");
    browser.check_page(&site.named("import"));
    browser.choose_file("input[name=file]", &bad_file);
    browser.click("button[data-action=dry-run]");
    browser.wait_for_text("Lỗi");
    let rows = browser.execute(
        "return Array.from(document.querySelectorAll('table tbody tr')).map(r => r.innerText);",
        serde_json::json!([]),
    );
    let rows: Vec<String> = serde_json::from_value(rows).unwrap();
    assert!(rows.iter().any(|r| r.starts_with('3') && r.contains("status")), "the bad row's line: {rows:?}");
    browser.check_page(&site.named("import-rejected"));
    let admin = site.token("admin", &site.admin_password);
    let (status, _) = site.api("GET", "/api/v1/admin/members/990000001", &admin, &[], None);
    assert_eq!(status, 404, "a refused file changes nothing");

    browser.go(&site.url("/dashboard/members/import"));
    browser.wait_for_path("/dashboard/members/import");
    browser.choose_file("input[name=file]", &fixed_file);
    browser.click("button[data-action=dry-run]");
    browser.wait_for_text("Sẽ thêm mới");
    browser.check_page(&site.named("import-dry-run"));
    browser.click("button[data-action=import]");
    browser.wait_for_text("Đã nhập xong");
    let (status, member) = site.api("GET", "/api/v1/admin/members/990000002", &admin, &[], None);
    assert_eq!((status, member["full_name"].as_str()), (200, Some("Vũ Thị Mới")));

    browser.go(&site.url("/dashboard/committees/HK/slips"));
    browser.wait_for_path("/dashboard/committees/HK/slips");
    browser.check_page(&site.named("slips-form"));
    browser.click("button[data-action=slips]");
    wait_until("the slips", Duration::from_secs(60), || !browser.find_all("article.slip").is_empty());
    let slips = browser.execute(
        "return Array.from(document.querySelectorAll('article.slip')).map(s => \
         [s.dataset.card, s.querySelector('.slip-code code').textContent.trim()]);",
        serde_json::json!([]),
    );
    let slips: Vec<(String, String)> = serde_json::from_value(slips).unwrap();
    assert!(slips.iter().any(|(card, _)| card == "990000001"), "the imported members get slips: {slips:?}");
    browser.check_page(&site.named("slips"));

    let pdf = browser.print_pdf();
    let printed = site.dir.join("slips.pdf");
    std::fs::write(&printed, &pdf).unwrap();
    std::fs::copy(&printed, crate::harness::browser::screenshots().join(format!("{}.pdf", site.named("slips"))))
        .unwrap();
    let info = std::process::Command::new("pdfinfo").arg(&printed).output().expect("pdfinfo (poppler-utils)");
    let info = String::from_utf8_lossy(&info.stdout).into_owned();
    let pages: usize = info.lines().find_map(|l| l.strip_prefix("Pages:")).unwrap().trim().parse().unwrap();
    assert_eq!(pages, slips.len().div_ceil(10), "ten whole slips a page: {info}");
    let prefix = site.dir.join("page");
    let rendered = std::process::Command::new("pdftoppm")
        .args(["-r", "300", "-png"])
        .arg(&printed)
        .arg(&prefix)
        .status()
        .expect("pdftoppm (poppler-utils)");
    assert!(rendered.success());
    let mut decoded = std::collections::BTreeSet::new();
    let mut images: Vec<_> = std::fs::read_dir(&site.dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "png"))
        .collect();
    images.sort();
    // One image per call: zbarimg's answers for several files at once depend on which files are together.
    for image in &images {
        let out =
            std::process::Command::new("zbarimg").args(["--quiet", "--raw"]).arg(image).output().expect("zbarimg");
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            decoded.insert(line.trim().to_owned());
        }
    }
    let expected: std::collections::BTreeSet<String> =
        slips.iter().map(|(card, code)| format!("HBACT1:{card}:{code}")).collect();
    assert_eq!(decoded, expected, "every QR code decodes to its slip's card number and code");
    browser.sign_out();
}

#[test]
fn import_and_slips_on_sqlite() {
    import_and_slips(Backend::Sqlite);
}

#[test]
fn import_and_slips_on_postgres() {
    import_and_slips(Backend::Postgres);
}
