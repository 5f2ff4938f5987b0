//! The organisation the tests share: committees, members, staff, and their tokens, made through the API where a
//! client would (sign-in, import, activation) and straight into the database where none can (staff, committees).

use super::{Answer, TestApp};

/// Fixtures of the organisation.
impl TestApp {
    /// Committees straight into the database.
    pub async fn seed_committees(&self, codes: &[&str]) {
        let codes: Vec<String> = codes.iter().map(|c| c.to_string()).collect();
        self.db()
            .run(move |conn| {
                for code in &codes {
                    handbook::org::store::insert_committee(conn, code, &format!("Đảng bộ {code}"))?;
                }
                Ok(())
            })
            .await
            .unwrap();
    }

    /// A staff account straight into the database; returns its access token, signed in through the API.
    pub async fn staff_token(&self, login: &str, role: &str, committee: Option<&str>) -> String {
        let new = handbook::org::staff::NewStaff {
            login: login.to_owned(),
            role: handbook::auth::Role::parse(role).unwrap(),
            committee_code: committee.map(str::to_owned),
        };
        let hash = handbook::auth::password::hash_blocking(STAFF_PASSWORD);
        self.db().run(move |conn| handbook::org::staff::create(conn, &new, &hash)).await.unwrap();
        self.login(login, STAFF_PASSWORD).await["access_token"].as_str().unwrap().to_owned()
    }

    pub async fn admin_token(&self) -> String {
        self.staff_token("city.admin", "admin", None).await
    }

    pub async fn login(&self, login: &str, password: &str) -> serde_json::Value {
        let answer =
            self.post_json("/api/v1/auth/login", &serde_json::json!({"login": login, "password": password})).await;
        assert_eq!(answer.status, 200, "login {login}: {}", answer.text());
        answer.json()
    }

    /// Imports members as the given caller and asserts success.
    pub async fn import(&self, token: &str, csv: &str) -> serde_json::Value {
        let answer = self.post_csv_as(token, "/api/v1/admin/members/import", csv).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        answer.json()
    }

    /// Registers `installation` as an Android device of the caller's account; the answer.
    pub async fn register_installation(&self, token: &str, installation: &str) -> Answer {
        let body = serde_json::json!({"installation_id": installation, "platform": "android", "app_version": "1.0"});
        self.post_as(token, "/api/v1/installations", &body).await
    }

    /// Issues an activation code as `token` and activates the member with `password`; returns the tokens.
    pub async fn activate_member(&self, staff_token: &str, card_number: &str, password: &str) -> serde_json::Value {
        let issued = self
            .post_as(
                staff_token,
                &format!("/api/v1/admin/members/{card_number}/activation-code"),
                &serde_json::json!({}),
            )
            .await;
        assert_eq!(issued.status, 201, "{}", issued.text());
        let code = issued.json()["activation_code"].as_str().unwrap().to_owned();
        let answer = self
            .post_json(
                "/api/v1/auth/activate",
                &serde_json::json!({"card_number": card_number, "activation_code": code, "new_password": password}),
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        answer.json()
    }
}

pub const STAFF_PASSWORD: &str = "staff password 1";

/// The password of the members the auth tests activate.
pub const MEMBER_PASSWORD: &str = "mật khẩu của tôi";

pub const MEMBERS_CSV: &str = "card_number,full_name,committee_code,unit,cell,status\n\
100000001,Nguyễn Văn A,HK,Phường Hàng Bạc,Chi bộ 1,eligible\n\
100000002,Trần Thị Bình,HK,Phường Hàng Bạc,Chi bộ 2,eligible\n\
100000003,Lê Văn Cường,BD,Phường Kim Mã,Chi bộ 1,exempt\n\
100000004,Phạm Thị Dung,BD,Phường Kim Mã,Chi bộ 1,eligible\n";

/// The usual cast: committees HK and BD with MEMBERS_CSV, an admin, and one activated member in each committee.
pub struct Organisation {
    pub admin: String,
    pub member_hk: String,
    pub member_bd: String,
}

impl TestApp {
    /// Committees HK and BD with MEMBERS_CSV, imported by an admin; answers the admin's access token.
    pub async fn imported_organisation(&self) -> String {
        self.seed_committees(&["HK", "BD"]).await;
        let admin = self.admin_token().await;
        self.import(&admin, MEMBERS_CSV).await;
        admin
    }

    pub async fn organisation(&self) -> Organisation {
        let admin = self.imported_organisation().await;
        let access = |tokens: serde_json::Value| tokens["access_token"].as_str().unwrap().to_owned();
        let member_hk = access(self.activate_member(&admin, "100000001", "member password").await);
        let member_bd = access(self.activate_member(&admin, "100000004", "member password").await);
        Organisation { admin, member_hk, member_bd }
    }
}
