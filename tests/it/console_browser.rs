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
