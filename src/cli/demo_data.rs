//! `handbook demo-data`: load the demo data set (committees, synthetic members, staff, a handbook, devices, an audit
//! trail), or write its members as CSV files. `handbook serve --demo` loads the same set, with these defaults.

use std::path::PathBuf;

use handbook::config::Settings;
use handbook::content::attachments::BlobStore;
use handbook::demo::{self, Loaded, Options};
use handbook::org::{demo as org_demo, staff};

use super::{open, with_connection};

#[derive(clap::Args)]
pub struct Args {
    /// Eligible members in all (exactly; about 5% exempt come on top).
    #[arg(long, default_value_t = demo::MEMBERS)]
    members: u64,
    /// Handbook documents (only into a database that has none yet).
    #[arg(long, default_value_t = demo::DOCUMENTS)]
    documents: usize,
    /// Audit entries of the campaign, written with the handbook [default: 100,000 at 418,000 members, in proportion
    /// for fewer].
    #[arg(long)]
    audit: Option<u64>,
    #[arg(long, default_value_t = demo::SEED)]
    seed: u64,
    /// Write the members CSV here (and committees to FILE.committees.csv) instead of loading it.
    #[arg(long)]
    csv: Option<PathBuf>,
}

pub fn run(settings: &Settings, Args { members, documents, audit, seed, csv }: Args) -> anyhow::Result<()> {
    if let Some(path) = csv {
        std::fs::write(&path, org_demo::members_csv(members, seed))?;
        let committees = path.with_extension("committees.csv");
        std::fs::write(&committees, org_demo::committees_csv())?;
        println!("wrote {} and {}", path.display(), committees.display());
        return Ok(());
    }
    let db = open(settings, 1)?;
    // The demo's staff can sign in: without this, a later `serve` would see usable accounts and make no admin.
    if let Some(password) = with_connection(&db, staff::ensure_first_admin)? {
        super::serve::print_first_admin(&password);
    }
    let options = Options { members, documents, audit: audit.unwrap_or(Options::audit_for(members)), seed };
    let started = std::time::Instant::now();
    let blobs = BlobStore::from_settings(settings)?;
    // The attachments go to the store through its async client: the load runs on a blocking thread of a runtime.
    let loaded = actix_web::rt::System::new().block_on(async move {
        blobs.check().await?;
        actix_web::web::block(move || {
            with_connection(&db, |conn| demo::load(conn, &blobs, &options, handbook::time::now()))
        })
        .await?
    })?;
    let Loaded { members, devices, documents: (published, drafts), reads, audit, meetings, took, .. } = &loaded;
    println!(
        "demo data: 48 committees; members created {}, updated {}, unchanged {}; {} of {} eligible members \
         installed, {} activated; {published} documents published, {drafts} drafts; {reads} read confirmations of \
         required documents; {} meetings ({} held, {} cancelled, {} invitations); {audit} audit entries added \
         (members {:.2} s, documents {:.2} s, devices {:.2} s, meetings {:.2} s, audit {:.2} s); in {:.2} s",
        members.created,
        members.updated,
        members.unchanged,
        devices.installed,
        devices.eligible,
        devices.activated,
        meetings.meetings,
        meetings.held,
        meetings.cancelled,
        meetings.invitees,
        took.members.as_secs_f64(),
        took.documents.as_secs_f64(),
        took.devices.as_secs_f64(),
        took.meetings.as_secs_f64(),
        took.audit.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    print_staff(&loaded);
    Ok(())
}

/// The demo staff's logins and, when they were just made, their password (shown this once).
pub fn print_staff(loaded: &Loaded) {
    if let Some(password) = &loaded.staff_password {
        println!(
            "Created the demo staff accounts, all with one password:\n  admins (city editors): {}\n  \
             officers: {} for committee HK, and canbo.<committee code in lower case> for each of the others\n  \
             demo staff password: {password}\nIt is shown this once.",
            org_demo::EDITORS.join(", "),
            org_demo::officer_login("HK"),
        );
    }
}
