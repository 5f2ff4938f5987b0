//! The demo data set: Hanoi's 48 affiliated party committees with synthetic members, deterministic for a
//! seed. It is written as the same CSV an organisation would import, and loaded through the import itself.

use std::fmt::Write;

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use super::members::MemberStatus;
use super::staff::{self, NewStaff};
use crate::auth::Role;
use crate::db::schema::{committees, staff as st};
use crate::db::DbConnection;
use crate::error::AppError;

/// (code, name, weight): weights give the districts more members than the bloc committees.
pub const COMMITTEES: [(&str, &str, u32); 48] = [
    ("BD", "Quận ủy Ba Đình", 14),
    ("HK", "Quận ủy Hoàn Kiếm", 12),
    ("TH", "Quận ủy Tây Hồ", 8),
    ("LB", "Quận ủy Long Biên", 13),
    ("CG", "Quận ủy Cầu Giấy", 12),
    ("DD", "Quận ủy Đống Đa", 18),
    ("HBT", "Quận ủy Hai Bà Trưng", 16),
    ("HM", "Quận ủy Hoàng Mai", 15),
    ("TX", "Quận ủy Thanh Xuân", 12),
    ("NTL", "Quận ủy Nam Từ Liêm", 10),
    ("BTL", "Quận ủy Bắc Từ Liêm", 10),
    ("HD", "Quận ủy Hà Đông", 14),
    ("ST", "Thị ủy Sơn Tây", 7),
    ("BV", "Huyện ủy Ba Vì", 11),
    ("PT", "Huyện ủy Phúc Thọ", 7),
    ("DP", "Huyện ủy Đan Phượng", 6),
    ("HDU", "Huyện ủy Hoài Đức", 8),
    ("QO", "Huyện ủy Quốc Oai", 7),
    ("TT", "Huyện ủy Thạch Thất", 8),
    ("CM", "Huyện ủy Chương Mỹ", 11),
    ("TO", "Huyện ủy Thanh Oai", 7),
    ("TTI", "Huyện ủy Thường Tín", 8),
    ("PX", "Huyện ủy Phú Xuyên", 7),
    ("UH", "Huyện ủy Ứng Hòa", 7),
    ("MD", "Huyện ủy Mỹ Đức", 7),
    ("SS", "Huyện ủy Sóc Sơn", 11),
    ("DA", "Huyện ủy Đông Anh", 13),
    ("GL", "Huyện ủy Gia Lâm", 10),
    ("ML", "Huyện ủy Mê Linh", 8),
    ("TTR", "Huyện ủy Thanh Trì", 9),
    ("KCQ", "Đảng ủy Khối các cơ quan Thành phố", 9),
    ("KDN", "Đảng ủy Khối Doanh nghiệp Thành phố", 8),
    ("CATP", "Đảng ủy Công an Thành phố", 10),
    ("QSTP", "Đảng ủy Quân sự Thành phố", 5),
    ("SYT", "Đảng ủy Sở Y tế", 4),
    ("SGD", "Đảng ủy Sở Giáo dục và Đào tạo", 4),
    ("VKS", "Đảng ủy Viện Kiểm sát nhân dân Thành phố", 1),
    ("TAND", "Đảng ủy Tòa án nhân dân Thành phố", 1),
    ("CT", "Đảng ủy Cục Thuế Thành phố", 2),
    ("TRANSERCO", "Đảng ủy Tổng Công ty Vận tải Hà Nội", 2),
    ("HNTOURIST", "Đảng ủy Tổng Công ty Du lịch Hà Nội", 1),
    ("HAPRO", "Đảng ủy Tổng Công ty Thương mại Hà Nội", 1),
    ("HANDICO", "Đảng ủy Tổng Công ty Đầu tư và Phát triển nhà Hà Nội", 1),
    ("NSHN", "Đảng ủy Công ty Nước sạch Hà Nội", 1),
    ("EVNHN", "Đảng ủy Tổng Công ty Điện lực Hà Nội", 2),
    ("HNM", "Đảng ủy Báo Hà Nội Mới", 1),
    ("HANOITV", "Đảng ủy Đài Phát thanh và Truyền hình Hà Nội", 1),
    ("DHTD", "Đảng ủy Trường Đại học Thủ đô Hà Nội", 1),
];

const FAMILY: [&str; 16] = [
    "Nguyễn", "Nguyễn", "Nguyễn", "Trần", "Trần", "Lê", "Lê", "Phạm", "Hoàng", "Phan", "Vũ", "Đặng", "Bùi", "Đỗ",
    "Ngô", "Dương",
];
const MIDDLE_MEN: [&str; 8] = ["Văn", "Văn", "Hữu", "Đức", "Minh", "Quang", "Xuân", "Thanh"];
const MIDDLE_WOMEN: [&str; 6] = ["Thị", "Thị", "Thu", "Ngọc", "Thanh", "Hồng"];
const GIVEN_MEN: [&str; 16] = [
    "An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khánh", "Long", "Minh", "Nam", "Quân", "Sơn", "Thắng", "Trung",
    "Tuấn", "Việt",
];
const GIVEN_WOMEN: [&str; 16] = [
    "Anh", "Giang", "Hà", "Hạnh", "Hoa", "Hương", "Lan", "Linh", "Mai", "Nga", "Phương", "Tâm", "Thảo", "Thủy",
    "Trang", "Yến",
];

/// A small deterministic generator (splitmix64), so a seed gives the same data on every machine and version.
pub struct Random(u64);

impl Random {
    pub fn new(seed: u64) -> Self {
        Random(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

pub fn committees_csv() -> String {
    let mut csv = String::from("code,name\n");
    for (code, name, _) in COMMITTEES {
        let _ = writeln!(csv, "{code},{name}");
    }
    csv
}

/// Exactly `eligible` eligible members spread over the committees by weight, plus about 5% exempt. The first member
/// of each cell is its secretary, the second its deputy secretary (the `position` column).
pub fn members_csv(eligible: u64, seed: u64) -> String {
    let mut random = Random(seed);
    let total_weight: u64 = COMMITTEES.iter().map(|(_, _, w)| u64::from(*w)).sum();
    let mut csv = String::from("card_number,full_name,committee_code,unit,cell,status,birth_date,position\n");
    let mut assigned = 0;
    for (index, (code, _, weight)) in COMMITTEES.iter().enumerate() {
        let share = if index + 1 == COMMITTEES.len() {
            eligible - assigned
        } else {
            eligible * u64::from(*weight) / total_weight
        };
        assigned += share;
        let exempt = share / 19; // 5% of all members
        let mut sequence = 0u64;
        let mut unit = 0u64;
        let mut left_in_unit = 0u64;
        let mut cell = 0u64;
        let mut left_in_cell = 0u64;
        let mut cell_size = 0u64;
        for n in 0..share + exempt {
            if left_in_unit == 0 {
                unit += 1;
                left_in_unit = 80 + random.below(400);
                cell = 0;
                left_in_cell = 0;
            }
            if left_in_cell == 0 {
                cell += 1;
                left_in_cell = 8 + random.below(30);
                cell_size = left_in_cell;
            }
            left_in_unit -= 1;
            left_in_cell -= 1;
            let position = match cell_size - left_in_cell {
                1 => "secretary",
                2 => "deputy_secretary",
                _ => "",
            };
            sequence += 1;
            let woman = random.below(100) < 42;
            let name = if woman {
                format!("{} {} {}", random.pick(&FAMILY), random.pick(&MIDDLE_WOMEN), random.pick(&GIVEN_WOMEN))
            } else {
                format!("{} {} {}", random.pick(&FAMILY), random.pick(&MIDDLE_MEN), random.pick(&GIVEN_MEN))
            };
            let status = if n < share { MemberStatus::Eligible } else { MemberStatus::Exempt };
            let year = 1950 + random.below(55);
            let month = 1 + random.below(12);
            let day = 1 + random.below(28);
            let _ = writeln!(
                csv,
                "{:02}{:07},{name},{code},Đảng bộ cơ sở số {unit},Chi bộ {cell},{status},{year}-{month:02}-{day:02},{position}",
                index + 1,
                sequence
            );
        }
    }
    csv
}

/// Loads committees and members through the import path, as an admin would. Returns the import outcome.
pub fn load(
    conn: &mut crate::db::DbConnection,
    eligible: u64,
    seed: u64,
) -> Result<super::import::ImportOutcome, crate::error::AppError> {
    super::store::import_committees(conn, committees_csv().as_bytes())?;
    let scope = super::import::ImportScope { committee: None };
    Ok(super::import::import(conn, members_csv(eligible, seed).as_bytes(), &scope, false, None)?)
}

/// The demo's city editors: admin accounts that write and publish the city's documents.
pub const EDITORS: [&str; 3] = ["bientap.lan", "bientap.minh", "bientap.tuan"];

/// The login of the demo officer of committee `code`: `canbo.hk` for HK ("cán bộ", officer). Not `officer.hk`, so
/// that a demo database still lets an operator create that common login.
pub fn officer_login(code: &str) -> String {
    format!("canbo.{}", code.to_lowercase())
}

/// When the demo staff accounts were made: two days before the campaign (see `sync::demo::DAYS`).
pub fn staff_created_at(now: NaiveDateTime) -> NaiveDateTime {
    now - Duration::days(crate::sync::demo::DAYS + 2)
}

/// The demo staff: the city editors and one officer for each committee in the database, all with one random
/// password, returned to be shown once. Nothing is made (`None`) when the editors exist already: a second run keeps
/// the accounts and their password. One argon2 hash serves every account (they share the password anyway), so this
/// costs one hash, not fifty.
pub fn ensure_staff(conn: &mut DbConnection, now: NaiveDateTime) -> Result<Option<String>, AppError> {
    let exists = st::table.filter(st::login.eq(EDITORS[0])).count().get_result::<i64>(conn)? > 0;
    if exists {
        return Ok(None);
    }
    let password = crate::auth::secrets::random_token()[..20].to_owned();
    let hash = crate::auth::password::hash_blocking(&password);
    let codes: Vec<String> = committees::table.select(committees::code).order(committees::code).load(conn)?;
    let mut accounts: Vec<NewStaff> = EDITORS
        .iter()
        .map(|login| NewStaff { login: (*login).to_owned(), role: Role::Admin, committee_code: None })
        .collect();
    accounts.extend(codes.iter().map(|code| NewStaff {
        login: officer_login(code),
        role: Role::Officer,
        committee_code: Some(code.clone()),
    }));
    let created = staff_created_at(now);
    for (n, account) in accounts.iter().enumerate() {
        staff::create(conn, account, &hash)?;
        let at = created + Duration::minutes(3 * n as i64);
        diesel::update(st::table.filter(st::login.eq(&account.login)))
            .set((st::created_at.eq(at), st::updated_at.eq(at)))
            .execute(conn)?;
    }
    Ok(Some(password))
}

/// The demo staff accounts that exist, as (login, id, committee): editors first, then officers by committee code.
pub fn staff_accounts(conn: &mut DbConnection) -> QueryResult<Vec<(String, i64, Option<String>)>> {
    let mut accounts: Vec<(String, i64, Option<String>)> = st::table
        .filter(st::login.eq_any(EDITORS).or(st::login.like("canbo.%")))
        .filter(st::disabled.eq(false))
        .select((st::login, st::id, st::committee_code))
        .load(conn)?;
    accounts.sort_by(|a, b| (a.2.is_some(), &a.2, &a.0).cmp(&(b.2.is_some(), &b.2, &b.0)));
    Ok(accounts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eligible_total_is_exact_and_the_data_deterministic() {
        let csv = members_csv(10_000, 7);
        let eligible = csv.lines().filter(|l| l.contains(",eligible,")).count();
        assert_eq!(eligible, 10_000);
        assert_eq!(csv, members_csv(10_000, 7));
        assert_ne!(csv, members_csv(10_000, 8));
        assert_eq!(committees_csv().lines().count(), 49);
    }
}
