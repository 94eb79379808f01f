#![doc = include_str!("docs/tour.md")]
#![deny(missing_docs, missing_debug_implementations)]
#![deny(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod address;
mod block_list;
mod emitter;
mod encoding;
mod error;
mod event;
mod event_loop;
#[doc(hidden)]
pub mod fuzz_api;
#[cfg(unix)]
pub mod handoff;
mod io_threads;
mod ip;
mod logging;
mod options;
mod server;
mod shared_listeners;
mod socket;
mod socket_address;
mod sys;
mod timers;
mod write_data;
mod write_queue;

pub use address::{Address, AddressInfo, Family, ReadyState};
pub use block_list::BlockList;
pub use encoding::{Chunk, Encoding, UnknownEncoding};
pub use error::Error;
pub use event_loop::{LoopHandle, current_loop, run};
pub use io_threads::set_thread_stack_size;
pub use ip::{is_ip, is_ipv4, is_ipv6};
pub use options::{ConnectOptions, ListenOptions, ServerOptions, SocketOptions};
pub use server::{DropInfo, Server};
pub use socket::Socket;
pub use socket_address::SocketAddress;
pub use timers::{Timer, set_immediate, set_timeout};
pub use write_data::WriteData;

/// Creates a server whose `connection` listener is `connection_listener` (Node's `net.createServer`).
///
/// The server belongs to the calling thread's loop and does nothing until [`Server::listen`].
/// `create_server(f)` is `Server::new(ServerOptions::default())` plus `on_connection(f)`.
///
/// # Examples
///
/// ```
/// let server = nodenet::create_server(|socket| {
///     socket.end_with("hello\n");
/// });
/// server.listen((0, "127.0.0.1")).on_listening(|server| {
///     let port = server.address().unwrap().port().unwrap();
///     let client = nodenet::connect((port, "127.0.0.1"));
///     client.on_data(|_, chunk| assert_eq!(chunk.bytes(), b"hello\n"));
///     let server = server.clone();
///     client.on_close(move |_, _| {
///         server.close();
///     });
/// });
/// nodenet::run().unwrap();
/// ```
pub fn create_server(connection_listener: impl FnMut(Socket) + 'static) -> Server {
    create_server_with(ServerOptions::default(), connection_listener)
}

/// Creates a server with options (Node's `net.createServer(options, connectionListener)`).
///
/// # Examples
///
/// ```
/// use nodenet::ServerOptions;
///
/// // Accepted sockets start paused and stay writable after the client ends.
/// let options = ServerOptions::default().pause_on_connect(true).allow_half_open(true);
/// let server = nodenet::create_server_with(options, |socket| {
///     assert!(!socket.pending());
///     socket.resume();
///     socket.on_end(|socket| {
///         socket.end_with("bye\n");
///     });
/// });
/// server.listen((0, "127.0.0.1")).on_listening(|server| {
///     let port = server.address().unwrap().port().unwrap();
///     let client = nodenet::connect((port, "127.0.0.1"));
///     client.end().resume();
///     let server = server.clone();
///     client.on_close(move |_, _| {
///         server.close();
///     });
/// });
/// nodenet::run().unwrap();
/// ```
pub fn create_server_with(
    options: ServerOptions,
    connection_listener: impl FnMut(Socket) + 'static,
) -> Server {
    let server = Server::new(options);
    server.on_connection(connection_listener);
    server
}

/// Creates a socket and connects it (Node's `net.connect` and `net.createConnection`).
///
/// `target` is a port (on `localhost`), a `(port, host)` pair, a local socket path, or a
/// [`ConnectOptions`]. The connect starts on the next turn of the loop, so listeners added right
/// after this call see every event: `lookup` (for a host name), `connectionAttempt`, `connect` and
/// `ready`, or `error` and `close(true)`.
///
/// # Errors
///
/// Never in place: as `error` events on the returned socket (see [`Socket::connect`] for the
/// codes), followed by `close(true)`.
///
/// # Examples
///
/// ```
/// // A port where nothing listens: bind one, note its number, close it.
/// let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
///
/// let client = nodenet::connect((port, "127.0.0.1"));
/// client.on_error(|_, err| assert_eq!(err.code(), "ECONNREFUSED"));
/// client.on_close(|_, had_error| assert!(had_error));
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

/// Creates a socket and connects it: the same as [`connect`] (Node's `net.createConnection`).
///
/// # Errors
///
/// As [`connect`]: `error` events on the returned socket.
///
/// # Examples
///
/// ```
/// let server = nodenet::create_server(|socket| {
///     socket.end();
/// });
/// server.listen((0, "127.0.0.1")).on_listening(|server| {
///     let port = server.address().unwrap().port().unwrap();
///     let client = nodenet::create_connection(nodenet::ConnectOptions::port(port).host("127.0.0.1"));
///     client.resume();
///     let server = server.clone();
///     client.on_close(move |_, _| {
///         server.close();
///     });
/// });
/// nodenet::run().unwrap();
/// ```
pub fn create_connection(target: impl Into<ConnectOptions>) -> Socket {
    connect(target)
}
