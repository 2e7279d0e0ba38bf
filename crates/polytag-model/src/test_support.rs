//! Shared pieces of the unit tests.

/// The flex RNG is process-global and cargo runs tests on parallel threads: every test that
/// seeds the device, whose numbers depend on the draw, or that draws at all (random inputs,
/// a module's lazy initial weights: a draw between another test's seed and its draw makes
/// that test's numbers wrong) holds this lock (burn-0.22-notes §7).
pub static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `f` in a rayon pool of `threads` threads (what `training.threads` configures
/// globally), for the checks that the parallel CPU kernels give the same bits on any number
/// of threads.
pub fn on_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a rayon pool")
        .install(f)
}
