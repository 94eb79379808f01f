//! Node.js's `net` module for blocking Rust: TCP and local-socket servers and clients with
//! Node-style events, exactly Node's semantics, no async runtime.
//!
//! # The model
//!
//! Each thread has an event loop, like Node's. [`run()`] dispatches events to listeners on the
//! calling thread until no ref'd handle (a listening [`Server`], an open or connecting
//! [`Socket`], a pending [`Timer`]) is left. The blocking I/O happens elsewhere: a thread per
//! listening server accepts, and every socket has a reader thread (and a writer thread, started
//! when a write cannot complete at once). They report to the loop over a channel, so listeners
//! run one at a time, in order, on the loop thread, and may use `Rc<RefCell<_>>` state freely.
//!
//! ```
//! fn main() -> Result<(), nodenet::Error> {
//!     let server = nodenet::create_server(|c| {
//!         c.write("hello\r\n");
//!         c.pipe(&c);
//!     });
//!     server.listen((0, "127.0.0.1")).on_listening(|server| {
//!         let port = server.address().unwrap().port().unwrap();
//!         let client = nodenet::connect((port, "127.0.0.1"));
//!         let server = server.clone();
//!         client.on_data(move |client, chunk| {
//!             assert_eq!(chunk.bytes(), b"hello\r\n");
//!             client.destroy();
//!             server.close();
//!         });
//!     });
//!     nodenet::run()
//! }
//! ```
//!
//! # Flow control
//!
//! [`Socket::write`] never blocks: it returns false once at least 16 KiB are queued, and `drain`
//! follows when the queue is empty. Reading is bounded too: a paused socket (or one whose listener
//! is slow) stops reading after about 16 KiB plus one read, so the peer is slowed down by TCP flow
//! control instead of growing memory. [`Socket::pipe`] does both for you.
//!
//! # Errors
//!
//! Failures arrive as `error` events carrying an [`Error`] with Node's code, errno, syscall and
//! message. An `error` event with no listener closes its handle and makes [`run()`] return it.

#![deny(missing_docs, missing_debug_implementations)]
#![deny(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod address;
mod emitter;
mod encoding;
mod error;
mod event;
mod event_loop;
#[doc(hidden)]
pub mod fuzz_api;
mod io_threads;
mod ip;
mod logging;
mod options;
mod server;
mod socket;
mod sys;
mod timers;
mod write_data;
mod write_queue;

pub use address::{Address, AddressInfo, Family, ReadyState};
pub use encoding::{Chunk, Encoding, UnknownEncoding};
pub use error::Error;
pub use event_loop::{LoopHandle, current_loop, run};
pub use io_threads::set_thread_stack_size;
pub use ip::{is_ip, is_ipv4, is_ipv6};
pub use options::{ConnectOptions, ListenOptions, ServerOptions, SocketOptions};
pub use server::{DropInfo, Server};
pub use socket::Socket;
pub use timers::{Timer, set_immediate, set_timeout};
pub use write_data::WriteData;

/// Creates a server whose `connection` listener is `connection_listener` (Node's `net.createServer`).
///
/// # Examples
///
/// ```
/// let server = nodenet::create_server(|socket| { socket.end(); });
/// server.listen((0, "127.0.0.1")).on_listening(|server| { server.close(); });
/// nodenet::run().unwrap();
/// ```
pub fn create_server(connection_listener: impl FnMut(Socket) + 'static) -> Server {
    create_server_with(ServerOptions::default(), connection_listener)
}

/// Creates a server with options (Node's `net.createServer(options, listener)`).
pub fn create_server_with(
    options: ServerOptions,
    connection_listener: impl FnMut(Socket) + 'static,
) -> Server {
    let server = Server::new(options);
    server.on_connection(connection_listener);
    server
}

/// Creates a socket and connects it (Node's `net.connect`).
///
/// # Examples
///
/// ```
/// let client = nodenet::connect((1, "127.0.0.1")); // nothing listens on port 1
/// client.on_error(|_, err| assert_eq!(err.code(), "ECONNREFUSED"));
/// nodenet::run().unwrap();
/// ```
pub fn connect(target: impl Into<ConnectOptions>) -> Socket {
    let options = target.into();
    let socket = Socket::new(
        SocketOptions::default().allow_half_open(options.allow_half_open.unwrap_or(false)),
    );
    socket.connect(options);
    socket
}

/// Same as [`connect`] (Node's `net.createConnection`).
pub fn create_connection(target: impl Into<ConnectOptions>) -> Socket {
    connect(target)
}
