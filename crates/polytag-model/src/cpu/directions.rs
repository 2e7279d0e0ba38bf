//! The scaffolding the fused recurrences share ([`super::lstm`], [`super::gru`]; the
//! inference recurrence [`super::rnn`] uses [`each_direction`] and [`with_outputs`]): the two
//! directions of a bidirectional layer on two threads, the step loops around the per-step
//! `rows · W_hh` gemm, and the placement of the per-direction outputs.
//!
//! The directions of a layer are independent: each reads the shared inputs and writes only
//! its own buffers (its rows of the saved values, its `[B, T, H]` outputs), so running them
//! in parallel changes no result, bit for bit, whatever the number of threads.

use super::lstm::Plan;
use super::matmul::{Rows, Weight};

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

/// One direction's rows of a layer's outputs `[B·T, dirs·H]`: row `slot` (= bi·T + time) is
/// this direction's `H` values at that position, a disjoint part of the shared buffer, so
/// both directions write their outputs in place, in parallel.
pub(crate) struct Outputs<'a>(Vec<&'a mut [f32]>);

impl Outputs<'_> {
    /// This direction's `H` outputs at `slot`.
    pub(crate) fn row(&mut self, slot: usize) -> &mut [f32] {
        self.0[slot]
    }
}

/// [`each_direction`] for jobs with outputs: `run(job, out)` writes its direction's outputs
/// through `out`; the result is the zero-initialised `[B·T, dirs·H]` (`slots` = B·T rows of
/// `dirs · d`) of all directions, forward first. (It used to go through per-direction
/// `[B·T, H]` buffers interleaved afterwards: three buffers of the layer's outputs alive at
/// once, 30 of the 73 MB heap peak of the paper workload's decoding.)
pub(crate) fn with_outputs<J: Send>(
    jobs: Vec<J>,
    slots: usize,
    d: usize,
    run: impl Fn(J, &mut Outputs<'_>) + Sync,
) -> Vec<f32> {
    let nd = jobs.len();
    let mut out = vec![0.0f32; slots * nd * d];
    let mut views: Vec<Outputs<'_>> = (0..nd)
        .map(|_| Outputs(Vec::with_capacity(slots)))
        .collect();
    for row in out.chunks_mut((nd * d).max(1)) {
        for (view, part) in views.iter_mut().zip(row.chunks_mut(d.max(1))) {
            view.0.push(part);
        }
    }
    let jobs: Vec<(J, Outputs<'_>)> = jobs.into_iter().zip(views).collect();
    each_direction(jobs, |(job, mut out)| run(job, &mut out));
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
    mut step: impl FnMut(&[(usize, usize)], usize, Rows<'_>, &mut [f32]),
) {
    let d = plan.d_hidden;
    let mut gathered = Vec::with_capacity(plan.batch * d);
    let mut product = Vec::new();
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
        let hw = w.times_into(&gathered, active.len(), &mut product);
        step(active, plan.time(dir, s), hw, h);
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
    let mut product = Vec::new();
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
        let dh_prev = w_t.times_into(&gathered, active.len(), &mut product);
        for (a, &(bi, _)) in active.iter().enumerate() {
            let dh = &mut dh[bi * d..(bi + 1) * d];
            for (x, y) in dh.iter_mut().zip(dh_prev.row(a)) {
                *x += y;
            }
        }
    }
}
