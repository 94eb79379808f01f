//! Listener lists: `FnMut` listeners that live on the loop thread and run in the order they were added.

use std::cell::RefCell;
use std::rc::Rc;

/// One event's listeners. `F` is an unsized `dyn FnMut(..)` type.
pub(crate) struct Listeners<F: ?Sized> {
    list: RefCell<Vec<Rc<RefCell<Box<F>>>>>,
}

impl<F: ?Sized> Default for Listeners<F> {
    fn default() -> Self {
        Listeners {
            list: RefCell::new(Vec::new()),
        }
    }
}

impl<F: ?Sized> Listeners<F> {
    /// Adds a listener at the end.
    pub(crate) fn add(&self, listener: Box<F>) {
        self.list.borrow_mut().push(Rc::new(RefCell::new(listener)));
    }

    /// Whether any listener is registered.
    pub(crate) fn is_empty(&self) -> bool {
        self.list.borrow().is_empty()
    }

    /// Calls `call` with each listener registered when the emit began, in order.
    ///
    /// Listeners added meanwhile run from the next emit on, as with Node's `emit`. A listener that is
    /// already running (the event re-emitted from inside itself) is skipped rather than re-entered.
    pub(crate) fn emit(&self, mut call: impl FnMut(&mut F)) {
        let count = self.list.borrow().len();
        for index in 0..count {
            let listener = match self.list.borrow().get(index) {
                Some(listener) => Rc::clone(listener),
                None => break,
            };
            if let Ok(mut listener) = listener.try_borrow_mut() {
                call(&mut **listener);
            }
        }
    }

    /// Drops every listener (after the handle's `close`).
    pub(crate) fn clear(&self) {
        let taken = std::mem::take(&mut *self.list.borrow_mut());
        drop(taken);
    }
}
