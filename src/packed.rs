//! Several optional strings in one allocation.

/// Up to 16 optional strings in one allocation: a sign-in's nine (every event is held in the
/// reorder buffer for minutes) and what detectors keep of one per user. Several small
/// allocations cost more to make, free and reach than one.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Packed<const N: usize> {
    text: Box<str>,
    /// Where each string ends in `text` (each starts where the one before ends).
    ends: [u32; N],
    /// Bit `i` set: string `i` is present.
    present: u16,
}

impl<const N: usize> Packed<N> {
    const FITS: () = assert!(N <= 16, "the presence bits are a u16");

    pub(crate) fn new(strings: [Option<&str>; N]) -> Self {
        let mut packed = Packed {
            text: Box::default(),
            ends: [0; N],
            present: 0,
        };
        packed.assign(strings);
        packed
    }

    /// Becomes `Packed::new(strings)`, in the same allocation when the new text fits in it.
    pub(crate) fn assign(&mut self, strings: [Option<&str>; N]) {
        let () = Self::FITS;
        let mut text = std::mem::take(&mut self.text).into_string();
        text.clear();
        text.reserve_exact(strings.iter().flatten().map(|s| s.len()).sum());
        self.present = 0;
        for (i, (string, end)) in strings.iter().zip(&mut self.ends).enumerate() {
            if let Some(string) = string {
                text.push_str(string);
                self.present |= 1 << i;
            }
            // A record is far smaller than 4 GiB (input limits): saturating never loses text.
            *end = u32::try_from(text.len()).unwrap_or(u32::MAX);
        }
        self.text = text.into_boxed_str();
    }

    pub(crate) fn get(&self, i: usize) -> Option<&str> {
        if self.present & (1 << i) == 0 {
            return None;
        }
        let start = i
            .checked_sub(1)
            .and_then(|j| self.ends.get(j))
            .copied()
            .unwrap_or(0);
        let end = self.ends.get(i).copied().unwrap_or(0);
        self.text.get(start as usize..end as usize)
    }
}
