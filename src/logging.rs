//! Optional logging of connection lifecycle and errors (the `log` feature), through the `log`
//! crate with the target `"nodenet"`. Without the feature the macro compiles to nothing (its
//! arguments are still type-checked).
//!
//! Levels: `info` for servers starting and stopping to listen; `debug` for connections opened
//! and closed and for `error` events; `warn` for conditions an operator should see (connections
//! shed for lack of file descriptors or threads, connections turned away by `max_connections`,
//! an `error` with no listener).

/// Logs through the `log` crate when the `log` feature is on: `log_event!(debug, "...", args)`.
#[cfg(feature = "log")]
macro_rules! log_event {
    ($level:ident, $($arg:tt)+) => {
        ::log::$level!(target: "nodenet", $($arg)+)
    };
}

/// Logs through the `log` crate when the `log` feature is on: here, off, it does nothing.
#[cfg(not(feature = "log"))]
macro_rules! log_event {
    ($level:ident, $($arg:tt)+) => {
        if false {
            let _ = format_args!($($arg)+);
        }
    };
}

pub(crate) use log_event;
