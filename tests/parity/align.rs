//! Aligning: which of strace's calls are ours, by name and in order, so
//! that one call missing (or extra) does not shift all that follows.

/// The pairs (index in A, index in B) of a longest common subsequence of
/// A and B.
pub fn matched<T: PartialEq>(a: &[T], b: &[T]) -> Vec<(usize, usize)> {
    // What both begin and end with needs no table: traces mostly agree.
    let head = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    let tail = a[head..]
        .iter()
        .rev()
        .zip(b[head..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (mid_a, mid_b) = (&a[head..a.len() - tail], &b[head..b.len() - tail]);

    let mut pairs: Vec<(usize, usize)> = (0..head).map(|i| (i, i)).collect();
    for (i, j) in lcs(mid_a, mid_b) {
        pairs.push((head + i, head + j));
    }
    let (a_end, b_end) = (a.len() - tail, b.len() - tail);
    pairs.extend((0..tail).map(|k| (a_end + k, b_end + k)));
    pairs
}

/// The textbook table: `len[i][j]` is the LCS length of A[i..] and B[j..].
fn lcs<T: PartialEq>(a: &[T], b: &[T]) -> Vec<(usize, usize)> {
    let width = b.len() + 1;
    let mut len = vec![0u32; (a.len() + 1) * width];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            len[i * width + j] = if a[i] == b[j] {
                len[(i + 1) * width + j + 1] + 1
            } else {
                len[(i + 1) * width + j].max(len[i * width + j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut pairs = Vec::new();
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            pairs.push((i, j));
            i += 1;
            j += 1;
        } else if len[(i + 1) * width + j] >= len[i * width + j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::matched;

    #[test]
    fn a_missing_call_does_not_shift_the_rest() {
        let strace = ["execve", "brk", "openat", "read", "close", "exit_group"];
        let ours = ["execve", "brk", "read", "close", "write", "exit_group"];
        assert_eq!(
            matched(&strace, &ours),
            [(0, 0), (1, 1), (3, 2), (4, 3), (5, 5)]
        );
        assert_eq!(matched::<&str>(&[], &["x"]), []);
        assert_eq!(matched(&["x"], &["x"]), [(0, 0)]);
    }
}
