//! The alerts one claimed batch carries, as views into the shared (and cached) alert sets: a pointer and the
//! routed indices per delivery, not one entry per alert, so a burst that a thousand channels send at the same time
//! is held once, whatever each send waits for.

use fence_core::Alert;
use std::sync::Arc;

/// The alerts of a batch, in order.
#[derive(Debug, Clone, Default)]
pub struct BatchAlerts {
    parts: Vec<Part>,
}

/// One delivery's alerts: all of its set, or the listed ones (each index within the set, checked where it is made).
#[derive(Debug, Clone)]
struct Part {
    set: Arc<Vec<Alert>>,
    indices: Option<Vec<u32>>,
}

impl Part {
    fn len(&self) -> usize {
        self.indices.as_ref().map_or(self.set.len(), Vec::len)
    }

    fn iter(&self) -> Box<dyn Iterator<Item = &Alert> + '_> {
        match &self.indices {
            None => Box::new(self.set.iter()),
            Some(idx) => Box::new(idx.iter().map(|i| &self.set[*i as usize])),
        }
    }
}

impl BatchAlerts {
    /// Adds a delivery's alerts: its whole set, or the indices of it that were routed (out-of-range ones are left out).
    pub(crate) fn push(&mut self, set: Arc<Vec<Alert>>, indices: Option<&[u32]>) {
        let indices = indices.map(|idx| {
            idx.iter()
                .copied()
                .filter(|i| (*i as usize) < set.len())
                .collect()
        });
        self.parts.push(Part { set, indices });
    }

    pub fn iter(&self) -> impl Iterator<Item = &Alert> + '_ {
        self.parts.iter().flat_map(Part::iter)
    }

    pub fn len(&self) -> usize {
        self.parts.iter().map(Part::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The alert when the batch carries exactly one.
    pub fn single(&self) -> Option<&Alert> {
        let mut all = self.iter();
        match (all.next(), all.next()) {
            (Some(a), None) => Some(a),
            _ => None,
        }
    }

    /// The batch with only the alerts `keep` accepts (a part loses its whole-set view only when one is left out).
    pub fn retain(&mut self, keep: impl Fn(&Alert) -> bool) {
        for part in &mut self.parts {
            let kept: Vec<u32> = match &part.indices {
                None => (0..part.set.len() as u32).collect(),
                Some(idx) => idx.clone(),
            }
            .into_iter()
            .filter(|i| keep(&part.set[*i as usize]))
            .collect();
            if kept.len() != part.len() {
                part.indices = Some(kept);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fence_core::alert::ChannelBrokenAlert;

    fn set(names: &[&str]) -> Arc<Vec<Alert>> {
        Arc::new(
            names
                .iter()
                .map(|n| {
                    Alert::ChannelBroken(ChannelBrokenAlert {
                        channel_name: (*n).into(),
                        error: "e".into(),
                        hint: "h".into(),
                    })
                })
                .collect(),
        )
    }

    fn names(b: &BatchAlerts) -> Vec<String> {
        b.iter()
            .map(|a| match a {
                Alert::ChannelBroken(c) => c.channel_name.clone(),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn whole_sets_and_routed_indices_read_in_order_and_filter() {
        let mut b = BatchAlerts::default();
        b.push(set(&["a", "b"]), None);
        b.push(set(&["c", "d", "e"]), Some(&[2, 0, 9]));
        assert_eq!(
            names(&b),
            ["a", "b", "e", "c"],
            "index 9 is outside its set"
        );
        assert_eq!(b.len(), 4);
        assert!(b.single().is_none());
        b.retain(|a| !matches!(a, Alert::ChannelBroken(c) if c.channel_name == "b" || c.channel_name == "e"));
        assert_eq!(names(&b), ["a", "c"]);
        assert_eq!(b.single(), None);
        b.retain(|a| !matches!(a, Alert::ChannelBroken(c) if c.channel_name == "a"));
        assert_eq!(names(&b), ["c"]);
        assert!(b.single().is_some());
        b.retain(|_| false);
        assert!(b.is_empty());
    }
}
