//! CPU work spread over the machine's cores: a slice mapped in order on scoped threads.

use std::num::NonZeroUsize;
use std::thread;

/// Threads for CPU work: one per core.
pub fn cores() -> usize {
    thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// `items.iter().map(f).collect()`, with the slice cut into `threads` runs mapped at once (the
/// first on the calling thread). The results keep the items' order. Small slices stay on the
/// calling thread: a thread costs more than a few items. (The shipped fixtures, some seventy
/// orders, are validated on two threads: the tests see this path.)
pub fn map<T, R, F>(items: &[T], threads: usize, f: F) -> Vec<R>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    const MIN_RUN: usize = 16;
    let threads = threads.clamp(1, items.len().div_ceil(MIN_RUN).max(1));
    if threads == 1 {
        return items.iter().map(f).collect();
    }
    let run = items.len().div_ceil(threads);
    let f = &f;
    thread::scope(|scope| {
        let mut runs = items.chunks(run);
        let first = runs.next().unwrap_or_default();
        let others: Vec<_> = runs
            .map(|chunk| scope.spawn(move || chunk.iter().map(f).collect::<Vec<R>>()))
            .collect();
        let mut out: Vec<R> = Vec::with_capacity(items.len());
        out.extend(first.iter().map(f));
        for handle in others {
            match handle.join() {
                Ok(results) => out.extend(results),
                // A panic in `f` is a bug; it goes on as the caller's own.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_order_whatever_the_threads() {
        let items: Vec<u32> = (0..1000).collect();
        let expected: Vec<u32> = items.iter().map(|i| i * 3).collect();
        for threads in [0, 1, 2, 3, 7, 64, 5000] {
            assert_eq!(
                map(&items, threads, |i| i * 3),
                expected,
                "{threads} threads"
            );
        }
        assert_eq!(map(&[] as &[u32], 4, |i| *i), Vec::<u32>::new());
    }
}
