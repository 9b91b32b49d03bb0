//! Node outputs from a free list kept by the engine: a value's buffer goes back to the list
//! once its last reader has run (or at the end of a run), and a later node of this run or of a
//! later run takes it instead of asking the allocator. glibc hands a freed block of many MiB
//! back to the kernel, so every such node faulted its pages in again (about 30,000 minor
//! faults per ResNet-50 run at batch 8, `bench/large/README.md` round 8); a kept buffer's pages
//! stay mapped. Only the allocation changes: a taken buffer holds a previous value's integers,
//! so [`Buffers::take`] is only for outputs whose every element the op writes (an op that
//! relies on zeros keeps `vec![0; n]`).

use std::sync::Mutex;

/// Buffers kept at most (the largest ones): about the large values one run holds at once.
/// More kept only grow the engine's memory: 64 held 1.7 GB for ResNet-50 at batch 8 (its peak
/// is about 0.4 GB), and 16 took YOLOv8n's batch-8 process from 145 to 360 MiB for no speed;
/// 4 keep ResNet-50's gain (`bench/large/README.md`, "Round 9, buffer pool").
const KEPT: usize = 4;

/// The free list (shared by the runs of one engine, rows run side by side included).
#[derive(Default)]
pub(crate) struct Buffers {
    free: Mutex<Vec<Vec<i32>>>,
}

impl std::fmt::Debug for Buffers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kept = self.free.lock().map_or(0, |l| l.len());
        f.debug_struct("Buffers").field("kept", &kept).finish()
    }
}

impl Buffers {
    /// A buffer of `n` elements whose values are whatever a previous value left (zeros where
    /// none did): the caller writes every one of them.
    pub(crate) fn take(&self, n: usize) -> Vec<i32> {
        match self.reuse(n) {
            Some(mut v) => {
                v.truncate(n);
                v.resize(n, 0);
                v
            }
            None => vec![0; n],
        }
    }

    /// Gives `v` back for a later [`Self::take`] (dropped when the list is full and `v` is
    /// smaller than every buffer kept).
    pub(crate) fn give(&self, v: Vec<i32>) {
        if v.capacity() == 0 {
            return;
        }
        let Ok(mut free) = self.free.lock() else {
            return;
        };
        if free.len() < KEPT {
            free.push(v);
        } else if let Some((i, _)) = free
            .iter()
            .enumerate()
            .min_by_key(|(_, b)| b.capacity())
            .filter(|(_, b)| b.capacity() < v.capacity())
        {
            free[i] = v;
        }
    }

    /// The smallest kept buffer that holds `n` elements and no more than twice as many (a
    /// much larger one stays for a larger value).
    fn reuse(&self, n: usize) -> Option<Vec<i32>> {
        if n == 0 {
            return None;
        }
        let mut free = self.free.lock().ok()?;
        let fits = |b: &Vec<i32>| b.capacity() >= n && b.capacity() / 2 <= n;
        let (i, _) = free
            .iter()
            .enumerate()
            .filter(|(_, b)| fits(b))
            .min_by_key(|(_, b)| b.capacity())?;
        Some(free.swap_remove(i))
    }
}

#[cfg(test)]
mod tests {
    use super::Buffers;

    #[test]
    fn a_buffer_is_taken_again_at_its_size_only() {
        let b = Buffers::default();
        b.give(vec![7; 100]);
        // too large for 10 elements: a fresh one
        assert_eq!(b.take(10), vec![0; 10]);
        let v = b.take(60);
        assert_eq!((v.len(), v.capacity()), (60, 100));
        assert_eq!(b.take(60), vec![0; 60]);
    }
}
