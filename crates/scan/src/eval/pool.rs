//! The evaluation's worker threads: one tesseract each (the OCR engine is
//! kept per thread, see `ocr.rs`).
//!
//! Scoped threads from the standard library rather than rayon: this is the
//! crate's only parallel loop, the production workers already run one page
//! per thread, and a few lines here spare the library a thread-pool
//! dependency. Each thread takes the next item when it is done (a page
//! takes from 0.1 to several seconds), and the results come back in the
//! items' order.

use std::sync::atomic::{AtomicUsize, Ordering};

/// Worker threads of the evaluation: the cores, at most four.
pub(super) fn workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(4)
}

/// `f` applied to every item on [`workers`] threads; results in the items'
/// order. A panic in `f` is raised again here.
pub(super) fn par_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..workers().min(items.len()))
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else {
                            return mine;
                        };
                        mine.push((i, f(item)));
                    }
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|t| t.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_items_order() {
        let items: Vec<u64> = (0..37).collect();
        let out = par_map(&items, |&i| {
            // Uneven work, so threads finish out of order.
            std::thread::sleep(std::time::Duration::from_millis((37 - i) % 5));
            i * 2
        });
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
        assert!(par_map(&[] as &[u8], |_| 0).is_empty());
    }
}
