//! Shared pieces of the unit tests.

/// The flex RNG is process-global and cargo runs tests on parallel threads: every test that
/// seeds the device (or whose numbers depend on the draw) holds this lock
/// (burn-0.22-notes §7).
pub static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());
