//! Reading, making and scoring leads on every core, the results taken in input order: what `score` and
//! `backtest` do with a file of leads.

use std::collections::BTreeMap;
use std::sync::{mpsc, Arc, Mutex};

use leadscore::leads::{Maker, Raw, RowError};

use crate::input;

/// Leads a batch holds: enough that passing it between threads costs little next to its work.
pub const BATCH: usize = 2048;

/// One batch: its items as read, each to be made into a lead by a [`Maker`].
pub type Batch = Vec<Result<Raw, RowError>>;

/// Runs `work` on the batches of `reader` on as many threads as the machine has, with one state per thread
/// (`init`, from a maker of leads), while one thread reads; `take` gets the results on this thread, in input
/// order. An error of `take` stops everything (each thread at its next batch) and is returned. `Ok(false)`: a
/// thread stopped, and the results from its batch on are missing.
pub fn run<S, T: Send, E>(
    reader: &mut input::Reader<'_>,
    init: impl Fn(Maker) -> S + Sync,
    work: impl Fn(&mut S, Batch) -> T + Sync,
    mut take: impl FnMut(T) -> Result<(), E>,
) -> Result<bool, E> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 16);
    let maker = reader.maker();
    let (jobs_tx, jobs_rx) = mpsc::sync_channel::<(u64, Batch)>(2 * threads);
    let jobs_rx = Arc::new(Mutex::new(jobs_rx));
    let (done_tx, done_rx) = mpsc::sync_channel::<(u64, T)>(2 * threads);
    let (init, work) = (&init, &work);
    std::thread::scope(|s| {
        s.spawn(move || {
            let mut seq = 0;
            let mut batch = Vec::with_capacity(BATCH);
            while let Some(raw) = reader.next_raw() {
                batch.push(raw);
                if batch.len() == BATCH {
                    if jobs_tx.send((seq, std::mem::replace(&mut batch, Vec::with_capacity(BATCH)))).is_err() {
                        return;
                    }
                    seq += 1;
                }
            }
            if !batch.is_empty() {
                let _ = jobs_tx.send((seq, batch));
            }
        });
        for _ in 0..threads {
            let (jobs_rx, done_tx, maker) = (Arc::clone(&jobs_rx), done_tx.clone(), maker.clone());
            s.spawn(move || {
                let mut state = init(maker);
                loop {
                    let job = jobs_rx.lock().map_err(|_| ()).and_then(|rx| rx.recv().map_err(|_| ()));
                    let Ok((seq, batch)) = job else { return };
                    if done_tx.send((seq, work(&mut state, batch))).is_err() {
                        return;
                    }
                }
            });
        }
        // Only the workers hold these now: when this thread stops early, the workers stop at their next batch,
        // and the reading thread at its next send.
        drop((done_tx, jobs_rx));
        // The batches come in any order: each is taken once those before it are.
        let (mut next, mut waiting) = (0u64, BTreeMap::new());
        for (seq, result) in done_rx {
            waiting.insert(seq, result);
            while let Some(r) = waiting.remove(&next) {
                next += 1;
                take(r)?;
            }
        }
        Ok(waiting.is_empty())
    })
}
