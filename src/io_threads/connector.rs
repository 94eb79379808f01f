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
        } => {
            let addresses = resolve(host, *family, lookup.as_ref(), lref, id)?;
            let mut first_error = None;
            for ip in addresses {
                match connect_ip(ip, *port, *local_address, *local_port, cancel) {
                    Ok(socket) => return Ok(crate::sys::socket_stream(socket)),
                    Err(None) => return Err(None),
                    Err(Some(error)) => {
                        if first_error.is_none() {
                            first_error = Some(error);
                        }
                    }
                }
            }
            Err(Some(first_error.unwrap_or_else(|| Error::not_found(host))))
        }
    }
}

/// `Err(None)` when cancelled.
fn attempt(
    socket: &RawSocket,
    addr: &SockAddr,
    cancel: &AtomicBool,
) -> Result<(), Option<io::Error>> {
    match crate::sys::connect_cancellable(socket, addr, cancel) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Err(None),
        Err(e) => Err(Some(e)),
    }
}

fn connect_ip(
    ip: IpAddr,
    port: u16,
    local_address: Option<IpAddr>,
    local_port: u16,
    cancel: &AtomicBool,
) -> Result<RawSocket, Option<Error>> {
    let target = SocketAddr::new(ip, port);
    let fail = |e: io::Error, syscall: &'static str| {
        Some(Error::system(
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
    if local_address.is_some() || local_port != 0 {
        let local_ip = local_address.unwrap_or(match ip {
            IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        });
        let local = SocketAddr::new(local_ip, local_port);
        socket.bind(&local.into()).map_err(|e| {
            Some(Error::system(
                &e,
                "bind",
                Some(local_ip.to_string()),
                Some(local_port),
                Style::HostPort,
            ))
        })?;
    }
    match attempt(&socket, &target.into(), cancel) {
        Ok(()) => Ok(socket),
        Err(None) => Err(None),
        Err(Some(e)) => {
            let error = fail(e, "connect").expect("some");
            let error = if local_port != 0 {
                let local_ip = local_address.unwrap_or(match ip {
                    IpAddr::V4(_) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
                    IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
                });
                error.with_local(&local_ip.to_string(), local_port)
            } else {
                error
            };
            Err(Some(error))
        }
    }
}

/// The addresses to try: the literal itself, or the resolver's answers (each reported as `lookup`).
fn resolve(
    host: &str,
    family: u8,
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
        Err(_) => Vec::new(),
    };
    if family != 0 {
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
    Ok(addresses)
}
