//! `handbook admin create`: a staff account from the command line, checked by the API's own rule
//! (`org::staff::validate`).

use std::io::{IsTerminal, Read};

use clap::Subcommand;
use handbook::auth::password;
use handbook::config::Settings;
use handbook::error::{AppError, FieldError};
use handbook::org::staff;

use super::{open, with_connection};

#[derive(Subcommand)]
pub enum Command {
    /// Create a staff account. The password is read from standard input when it is piped, else generated
    /// and printed once.
    Create {
        #[arg(long)]
        login: String,
        #[arg(long, default_value = "admin", value_parser = ["admin", "officer"])]
        role: String,
        /// The officer's committee.
        #[arg(long)]
        committee: Option<String>,
    },
}

pub fn run(settings: &Settings, command: Command) -> anyhow::Result<()> {
    let Command::Create { login, role, committee } = command;
    let (password, generated) = new_password()?;
    // Committee codes are upper case; a terminal user may type them in either.
    let committee = committee.map(|c| c.to_uppercase());
    let request =
        staff::StaffRequest { login: &login, password: &password, role: &role, committee_code: committee.as_deref() };
    let new = staff::validate(&request).map_err(in_flag_terms)?;
    let db = open(settings, 1)?;
    let hash = password::hash_blocking(&password);
    let account = with_connection(&db, |conn| staff::create(conn, &new, &hash))?;
    println!("created {} {}", account.role.as_str(), account.login);
    if generated {
        println!("password (shown once): {password}");
    }
    Ok(())
}

/// The piped password, or else a generated one (`true`: print it).
fn new_password() -> anyhow::Result<(String, bool)> {
    if std::io::stdin().is_terminal() {
        return Ok((handbook::auth::secrets::random_token()[..20].to_owned(), true));
    }
    let mut typed = String::new();
    std::io::stdin().read_to_string(&mut typed)?;
    Ok((typed.trim_end_matches(['\r', '\n']).to_owned(), false))
}

/// The first problem, in the order the flags are read, and in the words of the command line.
fn in_flag_terms(error: AppError) -> anyhow::Error {
    let AppError::Validation(errors) = error else { return super::describe(error) };
    let problem = |field: &str| errors.iter().find(|e| e.field == field);
    let message = |e: &FieldError| e.message.clone();
    if let Some(login) = problem("login") {
        anyhow::anyhow!("login: {}", message(login))
    } else if problem("role").is_some() {
        anyhow::anyhow!("role must be admin or officer")
    } else if problem("committee_code").is_some() {
        anyhow::anyhow!("an officer needs --committee, and an admin takes none")
    } else if let Some(password) = problem("password") {
        anyhow::anyhow!("password {}", message(password))
    } else {
        super::describe(AppError::Validation(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(login: &str, password: &str, role: &str, committee_code: Option<&str>) -> String {
        let request = staff::StaffRequest { login, password, role, committee_code };
        in_flag_terms(staff::validate(&request).unwrap_err()).to_string()
    }

    /// The API's rule, told in the command line's words, the first problem in the order the flags are read.
    #[test]
    fn the_apis_refusals_read_as_before_on_the_command_line() {
        let login = "login: 3 to 64 characters: a letter, then letters, digits, '.', '_' or '-'";
        assert_eq!(refused("ab", "password1", "officer", None), login);
        let committee = "an officer needs --committee, and an admin takes none";
        assert_eq!(refused("officer.a", "password1", "officer", None), committee);
        assert_eq!(refused("admin.a", "a sound passphrase", "admin", Some("HK")), committee);
        let common = refused("admin.a", "password1", "admin", None);
        assert!(common.starts_with("password is one of the most common passwords"), "{common}");
    }
}
