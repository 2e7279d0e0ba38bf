//! The scaffolding the fused recurrences share ([`super::lstm`], [`super::gru`]; the
//! inference recurrence [`super::rnn`] uses [`each_direction`] and [`with_outputs`]): the two
//! directions of a bidirectional layer on two threads, the step loops around the per-step
//! `rows · W_hh` gemm, and the placement of the per-direction outputs.
//!
//! The directions of a layer are independent: each reads the shared inputs and writes only
//! its own buffers (its rows of the saved values, its `[B, T, H]` outputs), so running them
//! in parallel changes no result, bit for bit, whatever the number of threads.

use super::lstm::Plan;
use super::matmul::Weight;

/// Runs `run` on each direction's job: the two of a bidirectional layer in parallel
/// (`rayon::join`) where the pool has a second thread (`training.threads`), else one after
/// the other on this thread (a pool of one thread would only add a hand-over to its thread
/// and back).
pub(crate) fn each_direction<J: Send>(jobs: Vec<J>, run: impl Fn(J) + Sync) {
    match <[J; 2]>::try_from(jobs) {
        Ok([fw, bw]) if parallel() => {
            rayon::join(|| run(fw), || run(bw));
        }
        Ok(jobs) => jobs.into_iter().for_each(run),
        Err(jobs) => jobs.into_iter().for_each(run),
    }
}

/// Whether the rayon pool this thread would hand work to has more than one thread (also the
/// CRF's test before running sentences in parallel).
pub(crate) fn parallel() -> bool {
    rayon::current_num_threads() > 1
}

/// [`each_direction`] for jobs with outputs: `run(job, out)` writes its direction's outputs
/// into `out`, a zeroed `[B·T, H]` (`len` floats); the result is the `[B·T, dirs·H]` of all
/// directions (forward first). With two directions their outputs go to a scratch buffer,
/// then are interleaved into the result. (The scratch was kept per thread from call to call
/// while glibc `mmap`ed every allocation this large, a page fault per page; the CLI's
/// allocator setting, `polytag-cli/src/malloc.rs`, now serves it from the heap, and a kept
/// scratch only added its size to every later peak: peak memory 134 → 121 MB on the paper
/// workload, 396 → 359 MB on seed 000, same speed.)
pub(crate) fn with_outputs<J: Send>(
    jobs: Vec<J>,
    len: usize,
    d: usize,
    run: impl Fn(J, &mut [f32]) + Sync,
) -> Vec<f32> {
    let nd = jobs.len();
    if nd == 1 {
        let mut out = vec![0.0f32; len];
        jobs.into_iter().for_each(|job| run(job, &mut out));
        return out;
    }
    let mut scratch = vec![0.0f32; nd * len];
    let jobs: Vec<(J, &mut [f32])> = jobs.into_iter().zip(scratch.chunks_mut(len)).collect();
    each_direction(jobs, |(job, out)| run(job, out));
    let mut out = Vec::with_capacity(nd * len);
    for slot in 0..len / d.max(1) {
        for dir in 0..nd {
            let at = dir * len + slot * d;
            out.extend_from_slice(&scratch[at..at + d]);
        }
    }
    out
}

/// `W_hhᵀ` of direction `dir` of `w_hh` `[dirs, H, G]`, as a `[G, H]` gemm operand.
pub(crate) fn transposed(w_hh: &[f32], dir: usize, d: usize, g: usize) -> Weight {
    let w = &w_hh[dir * d * g..(dir + 1) * d * g];
    let w_t: Vec<f32> = (0..g * d).map(|i| w[(i % d) * g + i / d]).collect();
    Weight::new(&w_t, g, d)
}

/// The forward step loop of direction `dir`: at each step with real tokens, gathers the
/// state `h` `[B, H]` of the active rows, saves it to their rows of `h_prev` (this
/// direction's `[N, H]`), multiplies it by `w` (`W_hh`) and calls `step(active, time, hw, h)`
/// to update the state (and save what the backward pass needs).
pub(crate) fn forward_steps(
    plan: &Plan,
    dir: usize,
    w: &Weight,
    h: &mut [f32],
    h_prev: &mut [f32],
    mut step: impl FnMut(&[(usize, usize)], usize, &[f32], &mut [f32]),
) {
    let d = plan.d_hidden;
    let mut gathered = Vec::with_capacity(plan.batch * d);
    for s in 0..plan.max_len {
        let active = &plan.steps[dir][s];
        if active.is_empty() {
            continue;
        }
        gathered.clear();
        for &(bi, r) in active {
            let hs = &h[bi * d..(bi + 1) * d];
            gathered.extend_from_slice(hs);
            h_prev[r * d..(r + 1) * d].copy_from_slice(hs);
        }
        let hw = w.times(&gathered, active.len());
        step(active, plan.time(dir, s), &hw, h);
    }
}

/// The backward step loop of direction `dir`, steps in reverse: at each step with real
/// tokens, `step(active, time, dh, src)` turns the gradient `dh` `[B, H]` of the active rows'
/// states into the gradient of their pre-activations, written to their rows of `src` (this
/// direction's `[N, G]`), and leaves in `dh` the part that reaches the previous state
/// directly; then `src`'s rows times `w_t` (`W_hhᵀ`) are added to `dh`.
pub(crate) fn backward_steps(
    plan: &Plan,
    dir: usize,
    w_t: &Weight,
    g: usize,
    dh: &mut [f32],
    src: &mut [f32],
    mut step: impl FnMut(&[(usize, usize)], usize, &mut [f32], &mut [f32]),
) {
    let d = plan.d_hidden;
    let mut gathered = Vec::with_capacity(plan.batch * g);
    for s in (0..plan.max_len).rev() {
        let active = &plan.steps[dir][s];
        if active.is_empty() {
            continue;
        }
        step(active, plan.time(dir, s), dh, src);
        gathered.clear();
        for &(_, r) in active {
            gathered.extend_from_slice(&src[r * g..(r + 1) * g]);
        }
        let dh_prev = w_t.times(&gathered, active.len());
        for (a, &(bi, _)) in active.iter().enumerate() {
            let dh = &mut dh[bi * d..(bi + 1) * d];
            for (x, y) in dh.iter_mut().zip(&dh_prev[a * d..(a + 1) * d]) {
                *x += y;
            }
        }
    }
}
