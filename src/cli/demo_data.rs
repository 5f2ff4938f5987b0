//! `handbook demo-data`: load the demo data set (committees, synthetic members, a handbook), or write it as CSV
//! files. `handbook serve --demo` loads the same set, with these defaults.

use std::path::PathBuf;

use handbook::config::Settings;
use handbook::db::DbConnection;
use handbook::error::AppError;
use handbook::org::demo;

use super::{open, with_connection};

/// Eligible members of the demo data set.
pub const MEMBERS: u64 = 418_000;
/// Handbook documents of the demo data set.
pub const DOCUMENTS: usize = 200;
/// The seed the demo data set is drawn with.
pub const SEED: u64 = 2023;

#[derive(clap::Args)]
pub struct Args {
    /// Eligible members in all (exactly; about 5% exempt come on top).
    #[arg(long, default_value_t = MEMBERS)]
    members: u64,
    /// Handbook documents to publish (only into a database that has none yet).
    #[arg(long, default_value_t = DOCUMENTS)]
    documents: usize,
    #[arg(long, default_value_t = SEED)]
    seed: u64,
    /// Write the members CSV here (and committees to FILE.committees.csv) instead of loading it.
    #[arg(long)]
    csv: Option<PathBuf>,
}

pub fn run(settings: &Settings, Args { members, documents, seed, csv }: Args) -> anyhow::Result<()> {
    if let Some(path) = csv {
        std::fs::write(&path, demo::members_csv(members, seed))?;
        let committees = path.with_extension("committees.csv");
        std::fs::write(&committees, demo::committees_csv())?;
        println!("wrote {} and {}", path.display(), committees.display());
        return Ok(());
    }
    let db = open(settings, 1)?;
    let started = std::time::Instant::now();
    let outcome = with_connection(&db, |conn| demo::load(conn, members, seed))?;
    let members_took = started.elapsed();
    let devices = with_connection(&db, |conn| handbook::sync::demo::load(conn, seed, handbook::time::now()))?;
    let devices_took = started.elapsed() - members_took;
    let published = with_connection(&db, |conn| load_handbook(conn, settings, documents, seed))?;
    println!(
        "demo data: 48 committees; members created {}, updated {}, unchanged {}; {} of {} eligible members \
         installed, {} activated (members {:.2} s, devices {:.2} s); {published} documents published; in {:.2} s",
        outcome.created,
        outcome.updated,
        outcome.unchanged,
        devices.installed,
        devices.eligible,
        devices.activated,
        members_took.as_secs_f64(),
        devices_took.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The demo handbook, unless the database has documents already.
pub fn load_handbook(conn: &mut DbConnection, settings: &Settings, count: usize, seed: u64) -> Result<usize, AppError> {
    use diesel::prelude::*;
    let existing: i64 = handbook::db::schema::documents::table.count().get_result(conn)?;
    if existing > 0 {
        return Ok(0);
    }
    handbook::content::demo::load(conn, &settings.data_dir, count, seed)
}
