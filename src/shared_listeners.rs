//! Listening sockets shared by servers on several loops: Node's cluster without processes.
//!
//! A `listen` with [`ListenOptions::exclusive`](crate::ListenOptions::exclusive)`(false)` looks
//! here first: if another server of this process listens on the same address with sharing on,
//! the new server uses the same listening socket, and each server's acceptor thread takes
//! connections from it (the kernel hands each connection to one of them). The socket closes,
//! and a local socket's file is removed, when the last server using it stops listening.
//!
//! Port 0 is not a meeting point (unlike Node's cluster, where workers share port 0): a server
//! listening on port 0 gets a port of its own, which others then join by number. Otherwise two
//! unrelated parts of a program listening on port 0 would end up sharing a socket.

use crate::address::Address;
use crate::error::Error;
use crate::sys::Listener as RawSocket;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Weak};

/// What servers must agree on to share a listener.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum ShareKey {
    /// The host as given (`None`: every interface), the port, and `ipv6_only`.
    Tcp(Option<IpAddr>, u16, bool),
    /// A local socket path.
    Path(PathBuf),
}

/// A listening socket in use by one or more servers.
#[derive(Debug)]
pub(crate) struct SharedListener {
    pub(crate) socket: Arc<RawSocket>,
    pub(crate) address: Address,
    path: Option<PathBuf>,
}

impl Drop for SharedListener {
    fn drop(&mut self) {
        if let Some(path) = &self.path {
            crate::sys::remove_local_path(path);
        }
    }
}

static REGISTRY: Mutex<Option<HashMap<ShareKey, Weak<SharedListener>>>> = Mutex::new(None);

/// A listener that may be shared with other processes (adopted from an fd or a
/// `std::net::TcpListener`): not in the registry, but waited on and woken the same way, so that
/// closing this server never shuts the socket down for the others.
pub(crate) fn adopted(socket: RawSocket, address: Address) -> Result<Arc<SharedListener>, Error> {
    socket
        .set_nonblocking(true)
        .map_err(|e| Error::from_io(&e, "listen"))?;
    Ok(Arc::new(SharedListener {
        socket: Arc::new(socket),
        address,
        path: None,
    }))
}

/// The shared listener for `key`, binding it with `bind` if no server holds one.
///
/// The registry stays locked while binding, so that two loops listening at once share one socket
/// instead of one of them failing with `EADDRINUSE`.
pub(crate) fn get_or_bind(
    key: ShareKey,
    bind: impl FnOnce() -> Result<(RawSocket, Address, Option<PathBuf>), Error>,
) -> Result<Arc<SharedListener>, Error> {
    let mut registry = REGISTRY.lock();
    let map = registry.get_or_insert_with(HashMap::new);
    map.retain(|_, weak| weak.strong_count() > 0);
    if let Some(shared) = map.get(&key).and_then(Weak::upgrade) {
        return Ok(shared);
    }
    let (socket, address, path) = bind()?;
    // Registered under the port the kernel picked, for others to join.
    let key = match (key, &address) {
        (ShareKey::Tcp(ip, 0, v6only), Address::Inet(info)) => ShareKey::Tcp(ip, info.port, v6only),
        (key, _) => key,
    };
    // Several acceptor threads wait on it: each polls, then accepts without blocking, so that the
    // ones that lose the race for a connection go back to waiting.
    let nonblocking = socket.set_nonblocking(true);
    // Built first, so that a failure still removes the socket file (in its `Drop`).
    let shared = Arc::new(SharedListener {
        socket: Arc::new(socket),
        address,
        path,
    });
    nonblocking.map_err(|e| Error::from_io(&e, "listen"))?;
    map.insert(key, Arc::downgrade(&shared));
    Ok(shared)
}
