//! The connector: resolves, binds, connects (cancellably), then becomes the socket's reader.

use crate::error::{Error, Style};
use crate::event::{HandleId, IoEvent};
use crate::event_loop::LoopRef;
use crate::io_threads::reader::{self, ReadGate};
use crate::options::LookupFn;
use crate::sys::Stream;
use socket2::{Domain, Protocol, SockAddr, Socket as RawSocket, Type};
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

/// Where to connect.
pub(crate) enum Destination {
    Path(PathBuf),
    Tcp {
        host: String,
        port: u16,
        family: u8,
        lookup: Option<LookupFn>,
        local_address: Option<IpAddr>,
        local_port: u16,
        /// Happy eyeballs (Node's `autoSelectFamily`), and each attempt's time limit.
        auto_select_family: bool,
        attempt_timeout: Duration,
    },
}

/// One connect request.
pub(crate) struct ConnectJob {
    pub(crate) id: HandleId,
    pub(crate) lref: LoopRef,
    pub(crate) destination: Destination,
    pub(crate) gate: Arc<ReadGate>,
    pub(crate) cancel: Arc<AtomicBool>,
}

/// Connects, reports, and on success reads until the socket ends.
pub(crate) fn run(job: ConnectJob) {
    let ConnectJob {
        id,
        lref,
        destination,
        gate,
        cancel,
    } = job;
    match connect(&destination, &cancel, &lref, id) {
        Ok(stream) => {
            let stream = Arc::new(stream);
            lref.send(id, IoEvent::Connected(Arc::clone(&stream)));
            reader::run(stream, gate, id, lref);
        }
        Err(None) => {}
        Err(Some(error)) => lref.send(id, IoEvent::ConnectFailed(error)),
    }
}

/// `Err(None)`: cancelled (the socket was destroyed); nothing to report.
fn connect(
    destination: &Destination,
    cancel: &AtomicBool,
    lref: &LoopRef,
    id: HandleId,
) -> Result<Stream, Option<Error>> {
    match destination {
        Destination::Path(path) => {
            let shown = path.to_string_lossy().into_owned();
            let fail = |e: io::Error| {
                Some(Error::system(
                    &e,
                    "connect",
                    Some(shown.clone()),
                    None,
                    Style::HostPort,
                ))
            };
            match crate::sys::connect_local(path, cancel) {
                Ok(stream) => Ok(stream),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(None),
                Err(e) => Err(fail(e)),
            }
        }
        Destination::Tcp {
            host,
            port,
            family,
            lookup,
            local_address,
            local_port,
            auto_select_family,
            attempt_timeout,
        } => {
            // As Node's lookupAndConnect: happy eyeballs only for a name, with no family and no
            // local address given.
            let several = *auto_select_family && *family == 0 && local_address.is_none();
            let addresses = resolve(host, *family, several, lookup.as_ref(), lref, id)?;
            if addresses.len() == 1 {
                let ip = addresses[0];
                return match connect_ip(
                    ip,
                    *port,
                    *local_address,
                    *local_port,
                    cancel,
                    None,
                    lref,
                    id,
                ) {
                    Ok(socket) => Ok(crate::sys::socket_stream(socket)),
                    Err(Outcome::Failed(error)) => Err(Some(error)),
                    Err(Outcome::Cancelled | Outcome::TimedOut) => Err(None),
                };
            }
            // Node's internalConnectMultiple: one address after the other, each but the last
            // limited to the attempt timeout (a timed-out attempt counts as `ETIMEDOUT`).
            let mut errors = Vec::new();
            let last = addresses.len() - 1;
            for (i, ip) in addresses.into_iter().enumerate() {
                let deadline = (i < last).then(|| Instant::now() + *attempt_timeout);
                match connect_ip(ip, *port, None, *local_port, cancel, deadline, lref, id) {
                    Ok(socket) => return Ok(crate::sys::socket_stream(socket)),
                    Err(Outcome::Cancelled) => return Err(None),
                    Err(Outcome::TimedOut) => errors.push(Error::system(
                        &crate::sys::timed_out_error(),
                        "connect",
                        Some(ip.to_string()),
                        Some(*port),
                        Style::HostPort,
                    )),
                    Err(Outcome::Failed(error)) => errors.push(error),
                }
            }
            if errors.is_empty() {
                Err(Some(Error::new(
                    "ERR_SOCKET_CONNECTION_TIMEOUT",
                    "Socket connection timeout",
                )))
            } else {
                Err(Some(Error::aggregate(errors)))
            }
        }
    }
}

/// How one connect attempt ended, when it did not connect.
enum Attempt {
    Failed(io::Error),
    Cancelled,
    TimedOut,
}

fn attempt(
    socket: &RawSocket,
    addr: &SockAddr,
    cancel: &AtomicBool,
    deadline: Option<Instant>,
) -> Result<(), Attempt> {
    match crate::sys::connect_cancellable(socket, addr, cancel, deadline) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(Attempt::Cancelled),
        Err(e) if e.kind() == io::ErrorKind::TimedOut && e.raw_os_error().is_none() => {
            Err(Attempt::TimedOut)
        }
        Err(e) => Err(Attempt::Failed(e)),
    }
}

/// How a connect to one address ended, when it did not connect.
enum Outcome {
    Failed(Error),
    Cancelled,
    TimedOut,
}

/// One connect attempt to `ip`, reported as `connection_attempt` and then, unless it connects,
/// `connection_attempt_failed` or `connection_attempt_timeout` (a failed bind reports nothing).
#[allow(clippy::too_many_arguments)]
fn connect_ip(
    ip: IpAddr,
    port: u16,
    local_address: Option<IpAddr>,
    local_port: u16,
    cancel: &AtomicBool,
    deadline: Option<Instant>,
    lref: &LoopRef,
    id: HandleId,
) -> Result<RawSocket, Outcome> {
    let target = SocketAddr::new(ip, port);
    let fail = |e: io::Error, syscall: &'static str| {
        Outcome::Failed(Error::system(
            &e,
            syscall,
            Some(ip.to_string()),
            Some(port),
            Style::HostPort,
        ))
    };
    let socket = RawSocket::new(
        Domain::for_address(target),
        Type::STREAM,
        Some(Protocol::TCP),
    )
    .map_err(|e| fail(e, "connect"))?;
    // Dual stack, as libuv makes it: an IPv4-mapped address is reachable (Windows defaults to
    // IPv6 only).
    if target.is_ipv6() {
        let _ = socket.set_only_v6(false);
    }
    if local_address.is_some() || local_port != 0 {
        let local_ip = local_address.unwrap_or(match ip {
            IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        });
        let local = SocketAddr::new(local_ip, local_port);
        socket.bind(&local.into()).map_err(|e| {
            Outcome::Failed(Error::system(
                &e,
                "bind",
                Some(local_ip.to_string()),
                Some(local_port),
                Style::HostPort,
            ))
        })?;
    }
    lref.send(id, IoEvent::Attempt(ip, port));
    match attempt(&socket, &target.into(), cancel, deadline) {
        Ok(()) => Ok(socket),
        Err(Attempt::Cancelled) => Err(Outcome::Cancelled),
        Err(Attempt::TimedOut) => {
            lref.send(id, IoEvent::AttemptTimedOut(ip, port));
            Err(Outcome::TimedOut)
        }
        Err(Attempt::Failed(e)) => {
            let error = Error::system(
                &e,
                "connect",
                Some(ip.to_string()),
                Some(port),
                Style::HostPort,
            );
            let error = if local_port != 0 {
                let local_ip = local_address.unwrap_or(match ip {
                    IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
                    IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
                });
                error.with_local(&local_ip.to_string(), local_port)
            } else {
                error
            };
            lref.send(id, IoEvent::AttemptFailed(ip, port, error.clone()));
            Err(Outcome::Failed(error))
        }
    }
}

/// The addresses to try: the literal itself, or the resolver's answers, each reported as `lookup`.
/// Only the first answer is kept unless `several` (happy eyeballs): then every answer is
/// reported, and the addresses are deduplicated and interleaved by family, starting with the
/// first answer's, as Node's lookupAndConnectMultiple does.
fn resolve(
    host: &str,
    family: u8,
    several: bool,
    lookup: Option<&LookupFn>,
    lref: &LoopRef,
    id: HandleId,
) -> Result<Vec<IpAddr>, Option<Error>> {
    if crate::ip::is_ip(host) != 0
        && let Ok(ip) = host.parse::<IpAddr>()
    {
        return Ok(vec![ip]);
    }
    let resolved = match lookup {
        Some(lookup) => lookup(host, family),
        None => (host, 0u16)
            .to_socket_addrs()
            .map(|addrs| addrs.map(|a| a.ip()).collect()),
    };
    let mut addresses: Vec<IpAddr> = match resolved {
        Ok(list) => list
            .into_iter()
            .filter(|ip| match family {
                4 => ip.is_ipv4(),
                6 => ip.is_ipv6(),
                _ => true,
            })
            .collect(),
        // A custom lookup's own error is reported as it is, as Node passes it on; the system
        // resolver's failures, and a lookup's `NotFound`, are ENOTFOUND.
        Err(e)
            if lookup.is_some()
                && (e.raw_os_error().is_some()
                    || !matches!(e.kind(), io::ErrorKind::Other | io::ErrorKind::NotFound)) =>
        {
            let error = Error::from_io(&e, "getaddrinfo");
            lref.send(id, IoEvent::Lookup(Err(error.clone()), host.to_string()));
            return Err(Some(error));
        }
        Err(_) => Vec::new(),
    };
    if !several {
        addresses.truncate(1);
    }
    if addresses.is_empty() {
        let error = Error::not_found(host);
        lref.send(id, IoEvent::Lookup(Err(error.clone()), host.to_string()));
        return Err(Some(error));
    }
    for ip in &addresses {
        lref.send(id, IoEvent::Lookup(Ok(*ip), host.to_string()));
    }
    Ok(interleave(&addresses))
}

/// Node's order for happy eyeballs: duplicates dropped, then alternating families, starting with
/// the family of the first address.
fn interleave(addresses: &[IpAddr]) -> Vec<IpAddr> {
    let first_v6 = addresses.first().is_some_and(IpAddr::is_ipv6);
    let mut groups: [Vec<IpAddr>; 2] = [Vec::new(), Vec::new()];
    for ip in addresses {
        let group = &mut groups[usize::from(ip.is_ipv6() != first_v6)];
        if !group.contains(ip) {
            group.push(*ip);
        }
    }
    let mut ordered = Vec::with_capacity(groups[0].len() + groups[1].len());
    for i in 0..groups[0].len().max(groups[1].len()) {
        ordered.extend(groups[0].get(i));
        ordered.extend(groups[1].get(i));
    }
    ordered
}
