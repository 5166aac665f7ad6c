//! A step's exclusive hold on its parameters. Each parameter is checked and taken under one
//! lock: its data moves into a stand-in the kernels work on, and the parameter stays held (its
//! `lock` waits) until the step gives the data back. So what was validated is what the kernels
//! update, whatever other threads do meanwhile, and nobody sees a parameter half updated.

use ndarray::{ArrayD, IxDyn};

use crate::{Element, Param, ParamData, ParamGroup, Rule};

/// The stand-ins of one optimizer (one per parameter, laid out as its groups) and the order in
/// which a step takes its parameters. Built at the first step and again only when the groups
/// change, so later steps allocate nothing.
pub(crate) struct Staging<T> {
    stand_ins: Vec<Vec<Param<T>>>,
    /// `(address, group, index)` of every parameter, by address: every step takes parameters in
    /// this global order, so optimizers that share a parameter cannot deadlock.
    order: Vec<(usize, usize, usize)>,
}

impl<T> Default for Staging<T> {
    fn default() -> Self {
        Staging { stand_ins: Vec::new(), order: Vec::new() }
    }
}

impl<T> Clone for Staging<T> {
    /// A clone of an optimizer gets stand-ins of its own: two optimizers stepping at once must
    /// not share them.
    fn clone(&self) -> Self {
        Staging::default()
    }
}

impl<T> core::fmt::Debug for Staging<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Staging").finish_non_exhaustive()
    }
}

impl<T: Element> Staging<T> {
    fn fit<R: Rule>(&mut self, groups: &[ParamGroup<R, T>]) {
        let fits = self.stand_ins.len() == groups.len()
            && self.stand_ins.iter().zip(groups).all(|(stand_ins, group)| stand_ins.len() == group.params.len());
        if fits {
            return;
        }
        let empty = || Param::new(ArrayD::from_shape_vec(IxDyn(&[0]), Vec::new()).unwrap_or_default());
        self.stand_ins = groups.iter().map(|g| g.params.iter().map(|_| empty()).collect()).collect();
        self.order = groups
            .iter()
            .enumerate()
            .flat_map(|(g, group)| group.params.iter().enumerate().map(move |(i, p)| (p.address(), g, i)))
            .collect();
        self.order.sort_unstable();
    }

    /// Takes every parameter, running `check(group, index, data)` under the lock that takes it.
    /// If any check fails, nothing stays taken and the error of the first failing parameter in
    /// (group, index) order is returned. On success the groups hold the stand-ins (so the
    /// kernels see the taken data) until [`Staging::give_back`].
    pub(crate) fn take<R: Rule, E>(
        &mut self,
        groups: &mut [ParamGroup<R, T>],
        mut check: impl FnMut(usize, usize, &ParamData<T>) -> Result<(), E>,
    ) -> Result<(), E> {
        self.fit(groups);
        for (taken, &(_, g, i)) in self.order.iter().enumerate() {
            let Err(error) = groups[g].params[i].take_for_step(&self.stand_ins[g][i], |data| check(g, i, data)) else {
                continue;
            };
            for &(_, g, i) in &self.order[..taken] {
                groups[g].params[i].give_back(&self.stand_ins[g][i]);
            }
            // report the first bad parameter in (group, index) order, as a plain pass would,
            // not the first in address order, which changes from run to run
            for (g, group) in groups.iter().enumerate() {
                for (i, param) in group.params.iter().enumerate() {
                    check(g, i, &param.lock())?;
                }
            }
            return Err(error);
        }
        for (group, stand_ins) in groups.iter_mut().zip(&mut self.stand_ins) {
            core::mem::swap(&mut group.params, stand_ins);
        }
        Ok(())
    }

    /// Puts the parameters back in the groups and their updated data back in the parameters.
    pub(crate) fn give_back<R: Rule>(&mut self, groups: &mut [ParamGroup<R, T>]) {
        for (group, stand_ins) in groups.iter_mut().zip(&mut self.stand_ins) {
            core::mem::swap(&mut group.params, stand_ins);
        }
        for &(_, g, i) in &self.order {
            groups[g].params[i].give_back(&self.stand_ins[g][i]);
        }
    }
}
