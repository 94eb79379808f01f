//! Timers on the loop: `set_timeout`, `set_immediate`, `Timer`.

use crate::event_loop::{LoopRef, with_loop};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::time::{Duration, Instant};

struct Entry {
    callback: Box<dyn FnOnce()>,
    refd: bool,
}

/// The loop's pending timers, earliest first.
#[derive(Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Instant, u64)>>,
    entries: HashMap<u64, Entry>,
    next_id: u64,
}

impl Timers {
    /// Adds a timer; the caller accounts for its ref.
    pub(crate) fn add(
        &mut self,
        deadline: Instant,
        refd: bool,
        callback: Box<dyn FnOnce()>,
    ) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        self.heap.push(Reverse((deadline, id)));
        self.entries.insert(id, Entry { callback, refd });
        id
    }

    /// Removes a timer; returns whether it was ref'd (for the caller to release), or None if gone.
    pub(crate) fn remove(&mut self, id: u64) -> Option<bool> {
        self.entries.remove(&id).map(|entry| entry.refd)
    }

    /// Changes a timer's ref; returns the previous value, or None if gone.
    pub(crate) fn set_ref(&mut self, id: u64, refd: bool) -> Option<bool> {
        self.entries
            .get_mut(&id)
            .map(|entry| std::mem::replace(&mut entry.refd, refd))
    }

    /// The earliest deadline of a live timer.
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(Reverse((deadline, id))) = self.heap.peek() {
            if self.entries.contains_key(id) {
                return Some(*deadline);
            }
            self.heap.pop();
        }
        None
    }

    /// Takes out one timer due at `now`, with whether it was ref'd.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<(Box<dyn FnOnce()>, bool)> {
        while let Some(Reverse((deadline, id))) = self.heap.peek().copied() {
            if deadline > now {
                return None;
            }
            self.heap.pop();
            if let Some(entry) = self.entries.remove(&id) {
                return Some((entry.callback, entry.refd));
            }
        }
        None
    }
}

/// Adds a timer on this thread's loop and accounts for its ref.
pub(crate) fn add_timer(delay: Duration, refd: bool, callback: Box<dyn FnOnce()>) -> u64 {
    with_loop(|lp| {
        if refd {
            lp.add_ref();
        }
        lp.timers
            .borrow_mut()
            .add(Instant::now() + delay, refd, callback)
    })
}

/// Removes a timer from this thread's loop.
pub(crate) fn remove_timer(id: u64) {
    with_loop(|lp| {
        if lp.timers.borrow_mut().remove(id) == Some(true) {
            lp.release_ref();
        }
    })
}

/// A pending `set_timeout` callback: clear it, or keep it from holding the loop open.
///
/// `Timer` is `Send`: it can be cleared from another thread (the change reaches the loop through its channel).
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// let timer = nodenet::set_timeout(Duration::from_secs(3600), || unreachable!("cleared"));
/// nodenet::set_immediate(move || timer.clear());
/// nodenet::run().unwrap(); // returns at once: the only timer was cleared
/// ```
#[derive(Clone, Debug)]
pub struct Timer {
    id: u64,
    lref: LoopRef,
}

impl Timer {
    /// Cancels the timer; its callback will not run. Clearing twice, or after it ran, does nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let timer = nodenet::set_timeout(Duration::from_secs(3600), || unreachable!("cleared"));
    /// timer.clear();
    /// timer.clear(); // no effect
    /// nodenet::run().unwrap();
    /// ```
    pub fn clear(&self) {
        let id = self.id;
        self.lref.run_on_loop(move || remove_timer(id));
    }

    /// Lets `run()` return while this timer is still pending (Node's `timeout.unref()`).
    ///
    /// The timer still fires if the loop is running for another reason when it is due.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// nodenet::set_timeout(Duration::from_secs(3600), || unreachable!("never due")).unref();
    /// nodenet::run().unwrap(); // returns at once: it does not wait for the timer
    /// ```
    pub fn unref(&self) -> &Self {
        self.set_ref(false);
        self
    }

    /// Makes the timer keep `run()` going again (the default).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::{cell::Cell, rc::Rc, time::Duration};
    ///
    /// let fired = Rc::new(Cell::new(false));
    /// let flag = fired.clone();
    /// let timer = nodenet::set_timeout(Duration::from_millis(1), move || flag.set(true));
    /// timer.unref().ref_();
    /// nodenet::run().unwrap();
    /// assert!(fired.get());
    /// ```
    pub fn ref_(&self) -> &Self {
        self.set_ref(true);
        self
    }

    fn set_ref(&self, refd: bool) {
        let id = self.id;
        self.lref.run_on_loop(move || {
            with_loop(|lp| {
                let previous = lp.timers.borrow_mut().set_ref(id, refd);
                match (previous, refd) {
                    (Some(false), true) => lp.add_ref(),
                    (Some(true), false) => lp.release_ref(),
                    _ => {}
                }
            })
        });
    }
}

/// Runs `f` on this thread's loop after `delay` (Node's `setTimeout`); the pending timer keeps `run()` going.
///
/// # Examples
///
/// ```
/// use std::{cell::Cell, rc::Rc, time::Duration};
/// let fired = Rc::new(Cell::new(false));
/// let flag = fired.clone();
/// nodenet::set_timeout(Duration::from_millis(5), move || flag.set(true));
/// nodenet::run().unwrap();
/// assert!(fired.get());
/// ```
pub fn set_timeout(delay: Duration, f: impl FnOnce() + 'static) -> Timer {
    let id = add_timer(delay, true, Box::new(f));
    Timer {
        id,
        lref: with_loop(|lp| lp.loop_ref()),
    }
}

/// Runs `f` on this thread's loop after the current events (Node's `setImmediate`).
///
/// # Examples
///
/// ```
/// use std::{cell::Cell, rc::Rc};
/// let ran = Rc::new(Cell::new(false));
/// let flag = ran.clone();
/// nodenet::set_immediate(move || flag.set(true));
/// nodenet::run().unwrap();
/// assert!(ran.get());
/// ```
pub fn set_immediate(f: impl FnOnce() + 'static) {
    with_loop(|lp| lp.immediate(Box::new(f)));
}
