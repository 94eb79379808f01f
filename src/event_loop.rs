//! The thread-local event loop: `run()`, ref counting, next-tick and immediate queues, dispatch by handle.

use crate::error::Error;
use crate::event::{Event, HandleId, IoEvent};
use crate::timers::Timers;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

/// How many ready events one wake-up dispatches before timers and immediates get a turn.
const EVENT_BATCH: usize = 1024;

static NEXT_LOOP_ID: AtomicU64 = AtomicU64::new(1);
static NEXT_HANDLE_ID: AtomicU64 = AtomicU64::new(1);

/// A new process-wide handle id.
pub(crate) fn next_handle_id() -> HandleId {
    NEXT_HANDLE_ID.fetch_add(1, Ordering::Relaxed)
}

/// A handle that receives its I/O threads' events on the loop.
pub(crate) trait Dispatch {
    /// Handles one of the handle's I/O events.
    fn dispatch(&self, event: IoEvent);
    /// Releases the handle's OS resources (wakes and stops its threads) without touching the loop:
    /// used when the loop is torn down by a panic or by its thread exiting.
    fn abandon(&self);
    /// Whether the handle keeps `run()` going, as an active ref'd libuv handle does: a listening
    /// server; a socket that is connecting, reading, or has writes or a shutdown pending.
    fn keeps_alive(&self) -> bool;
}

thread_local! {
    static LOOP: Rc<Loop> = Rc::new(Loop::new());
    static CURRENT_LOOP_ID: Cell<u64> = const { Cell::new(0) };
}

/// Runs `f` with this thread's loop (created on first use).
pub(crate) fn with_loop<R>(f: impl FnOnce(&Loop) -> R) -> R {
    LOOP.with(|lp| f(lp))
}

/// A sendable reference to one thread's loop: how any thread reaches it.
#[derive(Clone)]
pub(crate) struct LoopRef {
    id: u64,
    tx: Sender<Event>,
    /// Operations in progress on other threads that will queue work for the loop (see `hold`).
    holds: Arc<AtomicUsize>,
}

/// Keeps a loop from ending while another thread changes a handle's state and queues the task
/// that follows up on it (see [`LoopRef::hold`]).
pub(crate) struct Hold(Option<LoopRef>);

impl Drop for Hold {
    fn drop(&mut self) {
        if let Some(lref) = self.0.take() {
            lref.holds.fetch_sub(1, Ordering::SeqCst);
            // The loop may be waiting for events because of this hold: wake it to look again.
            let _ = lref.tx.send(Event::Task(Box::new(|| {})));
        }
    }
}

impl LoopRef {
    /// Keeps the loop alive until the returned guard is dropped, when called from another thread
    /// (on the loop's own thread there is no race and it does nothing).
    ///
    /// Take it before a change that makes a handle stop keeping the loop alive and drop it after
    /// the task that follows up (e.g. the `close` event) was queued: otherwise the loop could see
    /// the handle inactive and the channel still empty, and `run()` would return early.
    pub(crate) fn hold(&self) -> Hold {
        if self.is_current() {
            return Hold(None);
        }
        self.holds.fetch_add(1, Ordering::SeqCst);
        Hold(Some(self.clone()))
    }

    /// Whether the calling thread is this loop's thread.
    pub(crate) fn is_current(&self) -> bool {
        CURRENT_LOOP_ID.with(|id| id.get()) == self.id
    }

    /// Sends an I/O event (from an I/O thread).
    pub(crate) fn send(&self, id: HandleId, event: IoEvent) {
        // A closed channel means the loop's thread has exited; the event has no one to go to.
        let _ = self.tx.send(Event::Io(id, event));
    }

    /// Runs `task` on the loop: as a next tick when called on the loop thread, else through the channel.
    pub(crate) fn schedule(&self, task: impl FnOnce() + Send + 'static) {
        if self.is_current() {
            with_loop(|lp| lp.next_tick(Box::new(task)));
        } else {
            let _ = self.tx.send(Event::Task(Box::new(task)));
        }
    }

    /// Runs `task` on the loop thread: now if we are on it, else through the channel.
    pub(crate) fn run_on_loop(&self, task: impl FnOnce() + Send + 'static) {
        if self.is_current() {
            task();
        } else {
            let _ = self.tx.send(Event::Task(Box::new(task)));
        }
    }

    /// Panics unless called on this loop's thread (listeners are `!Send` and live there).
    pub(crate) fn assert_current(&self, what: &str) {
        assert!(
            self.is_current(),
            "nodenet: {what} must be called on the thread that owns the handle's loop \
             (listeners are not Send); use LoopHandle::post from other threads"
        );
    }
}

impl fmt::Debug for LoopRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopRef").field("id", &self.id).finish()
    }
}

/// One thread's event loop.
pub(crate) struct Loop {
    lref: LoopRef,
    rx: Receiver<Event>,
    handles: RefCell<HashMap<HandleId, Rc<dyn Dispatch>>>,
    locals: RefCell<HashMap<HandleId, Rc<dyn Any>>>,
    ticks: RefCell<VecDeque<Box<dyn FnOnce()>>>,
    immediates: RefCell<VecDeque<Box<dyn FnOnce()>>>,
    closing: RefCell<VecDeque<Box<dyn FnOnce()>>>,
    pub(crate) timers: RefCell<Timers>,
    /// Ref'd pending timers.
    refs: Cell<usize>,
    running: Cell<bool>,
    unhandled: RefCell<Option<Error>>,
}

impl Loop {
    fn new() -> Loop {
        let (tx, rx) = crossbeam_channel::unbounded();
        let id = NEXT_LOOP_ID.fetch_add(1, Ordering::Relaxed);
        CURRENT_LOOP_ID.with(|current| current.set(id));
        Loop {
            lref: LoopRef {
                id,
                tx,
                holds: Arc::new(AtomicUsize::new(0)),
            },
            rx,
            handles: RefCell::new(HashMap::new()),
            locals: RefCell::new(HashMap::new()),
            ticks: RefCell::new(VecDeque::new()),
            immediates: RefCell::new(VecDeque::new()),
            closing: RefCell::new(VecDeque::new()),
            timers: RefCell::new(Timers::default()),
            refs: Cell::new(0),
            running: Cell::new(false),
            unhandled: RefCell::new(None),
        }
    }

    /// A sendable reference to this loop.
    pub(crate) fn loop_ref(&self) -> LoopRef {
        self.lref.clone()
    }

    /// Routes the I/O events of handle `id` to `handle`.
    pub(crate) fn register(&self, id: HandleId, handle: Rc<dyn Dispatch>) {
        self.handles.borrow_mut().insert(id, handle);
    }

    /// Stops routing events to handle `id` and drops its loop-side state (listeners).
    pub(crate) fn unregister(&self, id: HandleId) {
        self.unregister_handle(id);
        self.remove_local(id);
    }

    /// Stops routing events to handle `id` (its loop-side state stays).
    pub(crate) fn unregister_handle(&self, id: HandleId) {
        let handle = self.handles.borrow_mut().remove(&id);
        drop(handle);
    }

    /// Drops the loop-side state (listeners) of handle `id`.
    pub(crate) fn remove_local(&self, id: HandleId) {
        let local = self.locals.borrow_mut().remove(&id);
        drop(local);
    }

    /// The loop-side state (listeners and the like) of handle `id`, created on first use.
    pub(crate) fn local<T: Default + 'static>(&self, id: HandleId) -> Rc<T> {
        if let Some(local) = self.locals.borrow().get(&id)
            && let Ok(local) = Rc::clone(local).downcast::<T>()
        {
            return local;
        }
        let local = Rc::new(T::default());
        self.locals
            .borrow_mut()
            .insert(id, Rc::clone(&local) as Rc<dyn Any>);
        local
    }

    /// The loop-side state of handle `id`, if it has any.
    pub(crate) fn existing_local<T: 'static>(&self, id: HandleId) -> Option<Rc<T>> {
        let local = self.locals.borrow().get(&id).cloned()?;
        local.downcast::<T>().ok()
    }

    /// Queues `task` to run before the next I/O event (Node's `process.nextTick`).
    pub(crate) fn next_tick(&self, task: Box<dyn FnOnce()>) {
        self.ticks.borrow_mut().push_back(task);
    }

    /// Queues `task` ahead of every queued tick: for what Node throws synchronously, which
    /// happens before anything the current code had queued.
    pub(crate) fn next_tick_first(&self, task: Box<dyn FnOnce()>) {
        self.ticks.borrow_mut().push_front(task);
    }

    /// Queues `task` for the immediate phase (Node's `setImmediate`); it keeps the loop alive.
    pub(crate) fn immediate(&self, task: Box<dyn FnOnce()>) {
        self.immediates.borrow_mut().push_back(task);
    }

    /// Queues `task` for the close phase, after immediates (where libuv runs close callbacks: a
    /// handle's `close` event comes after the ticks and immediates queued before it closed).
    pub(crate) fn on_close_phase(&self, task: Box<dyn FnOnce()>) {
        self.closing.borrow_mut().push_back(task);
    }

    fn run_closing(&self) {
        let count = self.closing.borrow().len();
        for _ in 0..count {
            let task = self.closing.borrow_mut().pop_front();
            match task {
                Some(task) => {
                    task();
                    self.run_ticks();
                }
                None => break,
            }
        }
    }

    /// One more ref'd timer keeps `run()` going.
    pub(crate) fn add_ref(&self) {
        self.refs.set(self.refs.get() + 1);
    }

    /// One ref'd timer less.
    pub(crate) fn release_ref(&self) {
        debug_assert!(self.refs.get() > 0, "ref count underflow");
        self.refs.set(self.refs.get().saturating_sub(1));
    }

    /// An `error` event found no listener: `run()` returns it.
    pub(crate) fn report_unhandled(&self, error: Error) {
        crate::logging::log_event!(warn, "unhandled error event: {error}");
        let mut slot = self.unhandled.borrow_mut();
        if slot.is_none() {
            *slot = Some(error);
        }
    }

    fn run_ticks(&self) {
        loop {
            let task = self.ticks.borrow_mut().pop_front();
            match task {
                Some(task) => task(),
                None => break,
            }
        }
    }

    fn run_immediates(&self) {
        let count = self.immediates.borrow().len();
        for _ in 0..count {
            let task = self.immediates.borrow_mut().pop_front();
            match task {
                Some(task) => {
                    task();
                    self.run_ticks();
                }
                None => break,
            }
        }
    }

    fn run_timers(&self) {
        let now = Instant::now();
        loop {
            let due = self.timers.borrow_mut().pop_due(now);
            match due {
                Some((callback, refd)) => {
                    if refd {
                        self.release_ref();
                    }
                    callback();
                    self.run_ticks();
                }
                None => break,
            }
        }
    }

    fn dispatch(&self, event: Event) {
        match event {
            Event::Task(task) => task(),
            Event::Io(id, io) => {
                let handle = self.handles.borrow().get(&id).cloned();
                if let Some(handle) = handle {
                    handle.dispatch(io);
                }
            }
        }
        self.run_ticks();
    }

    /// Closes every handle of this loop at the OS level and forgets all pending work.
    fn abandon_all(&self) {
        let handles: Vec<_> = self.handles.borrow_mut().drain().map(|(_, h)| h).collect();
        for handle in &handles {
            handle.abandon();
        }
        drop(handles);
        let locals: Vec<_> = self.locals.borrow_mut().drain().collect();
        drop(locals);
        let ticks = std::mem::take(&mut *self.ticks.borrow_mut());
        drop(ticks);
        let immediates = std::mem::take(&mut *self.immediates.borrow_mut());
        drop(immediates);
        let closing = std::mem::take(&mut *self.closing.borrow_mut());
        drop(closing);
        let timers = std::mem::take(&mut *self.timers.borrow_mut());
        drop(timers);
        while self.rx.try_recv().is_ok() {}
        self.refs.set(0);
        self.unhandled.borrow_mut().take();
    }

    fn take_unhandled(&self) -> Option<Error> {
        self.unhandled.borrow_mut().take()
    }

    fn alive(&self) -> bool {
        // The order matters for `Hold`: another thread takes a hold, makes a handle inactive,
        // queues a task, then lets the hold go. Looking at the handles, then the holds, then the
        // channel, the loop sees at least one of them.
        self.refs.get() > 0
            || self.has_pending_work()
            || self.handles.borrow().values().any(|h| h.keeps_alive())
            || self.lref.holds.load(Ordering::SeqCst) > 0
            || !self.rx.is_empty()
    }

    fn has_pending_work(&self) -> bool {
        !self.ticks.borrow().is_empty()
            || !self.immediates.borrow().is_empty()
            || !self.closing.borrow().is_empty()
    }

    /// Runs the loop until nothing ref'd is left, or an `error` event finds no listener.
    ///
    /// A panicking listener closes every handle of the loop (no thread or fd is left behind), then
    /// the panic continues out of `run()`; a later `run()` starts clean.
    pub(crate) fn run(&self) -> Result<(), Error> {
        assert!(
            !self.running.get(),
            "nodenet::run() called while this thread's loop is already running (from inside a listener?)"
        );
        self.running.set(true);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.run_inner()));
        self.running.set(false);
        match result {
            Ok(result) => result,
            Err(panic) => {
                self.abandon_all();
                std::panic::resume_unwind(panic)
            }
        }
    }

    fn run_inner(&self) -> Result<(), Error> {
        loop {
            self.run_ticks();
            if let Some(err) = self.take_unhandled() {
                return Err(err);
            }
            // libuv's order: timers, poll (I/O events), check (immediates), close callbacks.
            self.run_timers();
            if let Some(err) = self.take_unhandled() {
                return Err(err);
            }
            if !self.alive() {
                return Ok(());
            }
            let must_not_block = self.has_pending_work();
            let first = if must_not_block {
                self.rx.try_recv().ok()
            } else {
                let deadline = self.timers.borrow_mut().next_deadline();
                match deadline {
                    Some(deadline) => match self.rx.recv_deadline(deadline) {
                        Ok(event) => Some(event),
                        Err(RecvTimeoutError::Timeout) => None,
                        Err(RecvTimeoutError::Disconnected) => {
                            unreachable!("the loop holds a sender")
                        }
                    },
                    None => Some(self.rx.recv().expect("the loop holds a sender")),
                }
            };
            if let Some(event) = first {
                // Like one epoll_wait: the events that were ready when the phase began, not the
                // ones that the callbacks of this phase cause (those wait for the next turn, after
                // the close phase, as in libuv).
                let ready = self.rx.len().min(EVENT_BATCH - 1);
                self.dispatch(event);
                for _ in 0..ready {
                    if self.unhandled.borrow().is_some() {
                        break;
                    }
                    match self.rx.try_recv() {
                        Ok(event) => self.dispatch(event),
                        Err(_) => break,
                    }
                }
            }
            if self.unhandled.borrow().is_none() {
                self.run_immediates();
                self.run_closing();
            }
        }
    }
}

impl Drop for Loop {
    /// The thread is exiting: stop the I/O threads of handles still open, close their fds.
    fn drop(&mut self) {
        let handles: Vec<_> = self.handles.get_mut().drain().map(|(_, h)| h).collect();
        for handle in &handles {
            handle.abandon();
        }
    }
}

/// A sendable handle to a thread's loop; [`post`](LoopHandle::post) runs a closure there.
///
/// Get one with [`current_loop()`] on the loop's thread and move it (it is `Send + Sync + Clone`)
/// to the threads that must hand results back: the closure runs on the loop thread, where it may
/// add listeners and use `Rc` state. A pending post does not keep `run()` going by itself (below,
/// a timer does until the result arrives); an open socket or listening server also would.
///
/// # Examples
///
/// ```
/// use std::{cell::Cell, rc::Rc};
/// let done = Rc::new(Cell::new(false));
/// let flag = done.clone();
/// // Keep the loop alive until the worker's result arrives.
/// let keep_alive = nodenet::set_timeout(std::time::Duration::from_secs(10), || {});
/// let handle = nodenet::current_loop();
/// std::thread::spawn(move || {
///     let answer = 6 * 7;
///     handle.post(move || {
///         assert_eq!(answer, 42);
///         keep_alive.clear();
///     });
/// });
/// nodenet::set_immediate(move || flag.set(true));
/// nodenet::run().unwrap();
/// assert!(done.get());
/// ```
#[derive(Clone, Debug)]
pub struct LoopHandle {
    lref: LoopRef,
}

impl LoopHandle {
    /// Runs `f` on the loop's thread, between events; `f` may use `!Send` state such as listeners.
    ///
    /// Closures posted from one thread run in the order they were posted. If the loop is not
    /// running when `f` arrives, `f` runs during the next `run()` of that thread; if the loop's
    /// thread has exited, `f` is dropped without running.
    ///
    /// # Examples
    ///
    /// ```
    /// let server = nodenet::create_server(|socket| {
    ///     let handle = nodenet::current_loop();
    ///     std::thread::spawn(move || {
    ///         let answer = 6 * 7; // work done off the loop
    ///         handle.post(move || {
    ///             // Back on the loop thread: listeners may be added here.
    ///             socket.on_finish(|_| println!("answer sent"));
    ///             socket.end_with(format!("{answer}\n"));
    ///         });
    ///     });
    /// });
    /// server.listen((0, "127.0.0.1")).on_listening(|server| {
    ///     let port = server.address().unwrap().port().unwrap();
    ///     let client = nodenet::connect((port, "127.0.0.1"));
    ///     client.on_data(|_, chunk| assert_eq!(chunk.bytes(), b"42\n"));
    ///     let server = server.clone();
    ///     client.on_close(move |_, _| {
    ///         server.close();
    ///     });
    /// });
    /// nodenet::run().unwrap();
    /// ```
    pub fn post(&self, f: impl FnOnce() + Send + 'static) {
        let _ = self.lref.tx.send(Event::Task(Box::new(f)));
    }
}

/// A handle to the calling thread's loop, for other threads to `post` work back to it.
///
/// Creates the thread's loop if it has none yet.
///
/// # Examples
///
/// ```
/// use std::{cell::Cell, rc::Rc};
///
/// let results = Rc::new(Cell::new(0));
/// let keep_alive = nodenet::set_timeout(std::time::Duration::from_secs(10), || {});
/// let handle = nodenet::current_loop();
/// let worker = std::thread::spawn(move || {
///     handle.post(move || keep_alive.clear()); // runs on the loop thread
/// });
/// let r = results.clone();
/// nodenet::set_immediate(move || r.set(r.get() + 1));
/// nodenet::run().unwrap();
/// worker.join().unwrap();
/// assert_eq!(results.get(), 1);
/// ```
pub fn current_loop() -> LoopHandle {
    with_loop(|lp| LoopHandle {
        lref: lp.loop_ref(),
    })
}

/// Runs the calling thread's loop until no ref'd handle (listening server, open or connecting socket,
/// pending timer) remains.
///
/// Listeners, timers, immediates and posted closures run on the calling thread, in libuv's order:
/// timers, then I/O events, then immediates, then `close` events. Returns `Ok(())` at once if
/// there is nothing to do. Each thread has its own loop: handles created on a thread belong to
/// that thread's loop, and another thread runs its own.
///
/// # Errors
///
/// Returns the first `error` event that found no listener (after closing that handle), the Rust
/// analogue of Node's uncaught exception. Calling `run()` again continues with the handles left.
///
/// # Panics
///
/// Panics when called from inside a listener of the same loop, and re-raises a panic of a listener
/// (after closing every handle of the loop, so no thread or file descriptor is left behind).
///
/// # Examples
///
/// ```
/// fn main() -> Result<(), nodenet::Error> {
///     let server = nodenet::create_server(|socket| {
///         socket.end_with("hello\n");
///     });
///     server.listen((0, "127.0.0.1")).on_listening(|server| {
///         let port = server.address().unwrap().port().unwrap();
///         let server = server.clone();
///         nodenet::connect((port, "127.0.0.1")).resume().on_close(move |_, _| {
///             server.close();
///         });
///     });
///     nodenet::run() // returns when the server and both sockets are closed
/// }
/// ```
pub fn run() -> Result<(), Error> {
    let lp = LOOP.with(Rc::clone);
    lp.run()
}
