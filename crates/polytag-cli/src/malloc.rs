//! glibc's `malloc` set for a tensor program's allocations.
//!
//! Why: every burn op allocates its output afresh, and a batch's activations run to tens of
//! megabytes. With glibc's defaults a block that large is `mmap`ed and `munmap`ed on free,
//! and memory freed at the top of the heap is handed back to the kernel: the next batch
//! page-faults all of it in again, zeroed (`perf`: `clear_page_erms` + `exc_page_fault` were
//! a third of seed 000's decoding). Raising both thresholds keeps those pages in the process
//! from one batch to the next: page faults 1.84M → 0.10M on seed 000, 11–20 % more training
//! tokens/s on the paper and seed-000 workloads, up to 11 % more peak memory (`BENCHMARKS.md`,
//! "Allocator, row maps, two threads").
//!
//! `GLIBC_TUNABLES` naming a `glibc.malloc.` setting leaves glibc as the user set it.

/// Blocks up to this size come from the heap, and up to this much free memory stays at its
/// top.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const THRESHOLD: libc::c_int = 256 << 20;

/// Raises glibc's mmap and trim thresholds to [`THRESHOLD`], unless `GLIBC_TUNABLES` sets
/// malloc's own. Other platforms' allocators are left alone.
pub(crate) fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let user_set = std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains("glibc.malloc."));
        if !user_set {
            #[allow(unsafe_code)]
            // SAFETY: `mallopt` only changes two malloc parameters and may be called at any
            // time; the values are in range (positive, below 2^31).
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, THRESHOLD);
                libc::mallopt(libc::M_TRIM_THRESHOLD, THRESHOLD);
            }
        }
    }
}
