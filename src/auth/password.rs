//! Passwords: argon2id at OWASP's parameters, hashed off the actix workers and at most one per core at once,
//! so that a storm of sign-ins queues instead of eating memory and starving everything else.

use std::sync::{Arc, OnceLock};

use std::cell::RefCell;

use argon2::password_hash::{rand_core::OsRng, Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

use crate::error::{AppError, FieldError};

pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 128;

const MEMORY_KIB: u32 = 19_456;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Why a new password is refused. `message` is the API's wording; the console shows its own words for each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    Nul,
    Blank,
    TooShort,
    TooLong,
    LoginName,
    Common,
}

impl Refusal {
    pub const ALL: [Refusal; 6] =
        [Refusal::Nul, Refusal::Blank, Refusal::TooShort, Refusal::TooLong, Refusal::LoginName, Refusal::Common];

    /// The message of the field error (`errors[].message` in the API).
    pub fn message(self) -> String {
        match self {
            Refusal::Nul => "must not contain the character U+0000".to_owned(),
            Refusal::Blank => "must not be only spaces".to_owned(),
            Refusal::TooShort => format!("must be at least {MIN_LENGTH} characters"),
            Refusal::TooLong => format!("must be at most {MAX_LENGTH} characters"),
            Refusal::LoginName => "must not be the login name or card number".to_owned(),
            Refusal::Common => "is one of the most common passwords: choose one that is harder to guess".to_owned(),
        }
    }

    /// The refusal a field error's message tells of.
    pub fn from_message(message: &str) -> Option<Refusal> {
        Refusal::ALL.into_iter().find(|refusal| refusal.message() == message)
    }
}

/// 8 to 128 characters, nothing else required (NIST 800-63B, ASVS 2.1).
pub fn check_length(field: &str, password: &str) -> Result<(), FieldError> {
    length_refusal(password).map_or(Ok(()), |refusal| Err(FieldError::new(field, refusal.message())))
}

fn length_refusal(password: &str) -> Option<Refusal> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        Some(Refusal::TooShort)
    } else if length > MAX_LENGTH {
        Some(Refusal::TooLong)
    } else {
        None
    }
}

/// The rule for every new password, wherever it is set (activation, a password change, staff accounts in the
/// API, the console and on the command line): its length, not blank, no U+0000, not the account's own login name
/// or card number (`names`), and not one of the common passwords of `common_passwords.txt`. Case does not matter.
pub fn check_new(field: &str, password: &str, names: &[&str]) -> Result<(), FieldError> {
    refusal(password, names).map_or(Ok(()), |refusal| Err(FieldError::new(field, refusal.message())))
}

fn refusal(password: &str, names: &[&str]) -> Option<Refusal> {
    if password.contains('\0') {
        return Some(Refusal::Nul);
    }
    if password.trim().is_empty() {
        return Some(Refusal::Blank);
    }
    if let Some(refusal) = length_refusal(password) {
        return Some(refusal);
    }
    let folded = password.trim().to_lowercase();
    if names.iter().any(|name| !name.trim().is_empty() && name.trim().to_lowercase() == folded) {
        return Some(Refusal::LoginName);
    }
    if is_common(&folded) {
        return Some(Refusal::Common);
    }
    None
}

/// Whether a lowercased password is on the shipped list of common passwords.
fn is_common(folded: &str) -> bool {
    static COMMON: OnceLock<std::collections::HashSet<&'static str>> = OnceLock::new();
    COMMON
        .get_or_init(|| {
            include_str!("common_passwords.txt")
                .lines()
                .filter(|line| !line.starts_with('#') && !line.is_empty())
                .collect()
        })
        .contains(folded)
}

thread_local! {
    /// The 19 MiB that Argon2 works in, kept by each thread that hashes and reused: allocating it afresh for
    /// every hash grew the server by hundreds of megabytes under a storm of sign-ins.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs Argon2 with these parameters in this thread's reusable memory.
fn argon2_into(hasher: &Argon2, params: &Params, password: &[u8], salt: &[u8], out: &mut [u8]) -> argon2::Result<()> {
    MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        let blocks = params.block_count();
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        hasher.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks])
    })
}

/// A PHC string. Blocking: call it through [`Hasher`] from request handlers.
pub fn hash_blocking(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buffer = [0u8; 64];
    let salt_bytes = salt.decode_b64(&mut salt_buffer).expect("a generated salt decodes");
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("valid argon2 parameters");
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2_into(&argon2(), &params, password.as_bytes(), salt_bytes, &mut out).expect("argon2 hashing cannot fail");
    let output = Output::new(&out).expect("a 32-byte output");
    format!("$argon2id$v=19$m={MEMORY_KIB},t={ITERATIONS},p={PARALLELISM}${}${output}", salt.as_str())
}

/// Verifies against a PHC string of any Argon2 variant and parameters (older hashes included).
pub fn verify_blocking(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else { return false };
    let (Some(expected), Some(salt)) = (parsed.hash, parsed.salt) else { return false };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else { return false };
    let version = parsed.version.and_then(|v| Version::try_from(v).ok()).unwrap_or(Version::V0x13);
    let Ok(params) = Params::try_from(&parsed) else { return false };
    let hasher = Argon2::new(algorithm, version, params.clone());
    let mut salt_buffer = [0u8; 64];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_buffer) else { return false };
    let mut out = vec![0u8; expected.len()];
    if argon2_into(&hasher, &params, password.as_bytes(), salt_bytes, &mut out).is_err() {
        return false;
    }
    // Output equality is constant-time.
    Output::new(&out).is_ok_and(|computed| computed == expected)
}

/// Whether a stored hash was made with other parameters than today's (compared field by field:
/// `Params` equality never matches because of the output length).
pub fn needs_rehash(phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else { return true };
    let Ok(params) = Params::try_from(&parsed) else { return true };
    parsed.algorithm.as_str() != "argon2id"
        || parsed.version != Some(u32::from(Version::V0x13))
        || params.m_cost() != MEMORY_KIB
        || params.t_cost() != ITERATIONS
        || params.p_cost() != PARALLELISM
}

/// Verifying against this costs what a real verification costs, so an unknown login answers as slowly as
/// a known one.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_blocking("not the password of anybody at all"))
}

type Job = Box<dyn FnOnce() + Send>;

/// Hashing threads run at a lower CPU priority (nice 10): a storm of sign-ins then uses the cores that syncing
/// devices leave idle, instead of taking them from them. (On Linux, nice is per thread.)
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority on the calling thread (who = 0) with a valid niceness has no memory effects.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}

/// A fixed pool of one thread per core that does all the hashing. A queue in front of it makes a storm of
/// sign-ins wait its turn; and because the same few threads always do the work, the 19 MiB that each hash
/// allocates is reused instead of being left behind in the allocator arenas of hundreds of blocking threads.
#[derive(Clone)]
pub struct Hasher {
    jobs: std::sync::mpsc::SyncSender<Job>,
}

impl Hasher {
    pub fn new() -> Self {
        let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let (jobs, queue) = std::sync::mpsc::sync_channel::<Job>(10_000);
        let queue = Arc::new(std::sync::Mutex::new(queue));
        for index in 0..cores {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("argon2-{index}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = match queue.lock() {
                            Ok(receiver) => receiver.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return, // every Hasher is gone
                        }
                    }
                })
                .expect("start a hashing thread");
        }
        Hasher { jobs }
    }

    async fn off_worker<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, AppError> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = answer.send(work());
        });
        // With 10,000 hashes already waiting, the honest answer is "busy", not an ever longer queue.
        self.jobs.try_send(job).map_err(|error| match error {
            std::sync::mpsc::TrySendError::Full(_) => AppError::Unavailable,
            std::sync::mpsc::TrySendError::Disconnected(_) => {
                AppError::Internal(anyhow::anyhow!("the hashing threads are gone"))
            }
        })?;
        answered.await.map_err(|_| AppError::Internal(anyhow::anyhow!("a hashing job was dropped")))
    }

    pub async fn hash(&self, password: String) -> Result<String, AppError> {
        self.off_worker(move || hash_blocking(&password)).await
    }

    /// Verifies against the stored hash, or against a dummy one when there is none, taking the same time.
    pub async fn verify(&self, password: String, phc: Option<String>) -> Result<bool, AppError> {
        self.off_worker(move || match phc {
            Some(phc) => verify_blocking(&password, &phc),
            None => {
                verify_blocking(&password, dummy_hash());
                false
            }
        })
        .await
    }
}

impl Default for Hasher {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    #[test]
    fn our_hashes_and_the_crates_agree_both_ways() {
        let ours = hash_blocking("mật khẩu của tôi");
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(argon2().verify_password("mật khẩu của tôi".as_bytes(), &parsed).is_ok());
        assert!(argon2().verify_password(b"something else", &parsed).is_err());
        let salt = SaltString::generate(&mut OsRng);
        let theirs = argon2().hash_password("mật khẩu của tôi".as_bytes(), &salt).unwrap().to_string();
        assert!(verify_blocking("mật khẩu của tôi", &theirs));
        assert!(!verify_blocking("mật khẩu của tôi!", &theirs));
        assert!(!verify_blocking("x", "$argon2id$v=19$m=19456,t=2,p=1$bm90YXNhbHQ$"));
    }

    #[test]
    fn hashes_verify_and_carry_todays_parameters() {
        let phc = hash_blocking("correct horse battery");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_blocking("correct horse battery", &phc));
        assert!(!verify_blocking("wrong horse battery", &phc));
        assert!(!needs_rehash(&phc));
    }

    #[test]
    fn older_parameters_need_a_rehash() {
        let weak = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(4096, 1, 1, None).unwrap());
        let salt = SaltString::generate(&mut OsRng);
        let old = weak.hash_password(b"pw", &salt).unwrap().to_string();
        assert!(needs_rehash(&old));
        assert!(needs_rehash("not a hash"));
    }

    #[test]
    fn new_passwords_are_neither_blank_nor_common_nor_the_login() {
        assert!(check_new("p", "mật khẩu của tôi", &["100000001"]).is_ok());
        for refused in ["12345678", "password", "PassWord", "        ", "\0\0\0\0\0\0\0\0", "a\0bcdefgh", "100000001"] {
            let error = check_new("p", refused, &["100000001"]).unwrap_err();
            assert_eq!(error.field, "p", "{refused:?}");
        }
        assert!(check_new("p", "City.Admin", &["city.admin"]).is_err());
        assert!(check_new("p", "short", &[]).is_err());
        let entries = include_str!("common_passwords.txt").lines().filter(|l| !l.starts_with('#')).count();
        assert!(entries >= 10_000, "{entries}");
    }

    #[test]
    fn every_refusal_is_found_again_from_its_message() {
        for refusal in Refusal::ALL {
            assert_eq!(Refusal::from_message(&refusal.message()), Some(refusal));
        }
        assert_eq!(Refusal::from_message("something else"), None);
    }

    #[test]
    fn length_rules() {
        assert!(check_length("p", "1234567").is_err());
        assert!(check_length("p", "12345678").is_ok());
        assert!(check_length("p", &"é".repeat(128)).is_ok());
        assert!(check_length("p", &"a".repeat(129)).is_err());
    }
}
