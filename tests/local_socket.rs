//! Unix (local) sockets: listen(path), accepted sockets' addresses, echo, file removal, EADDRINUSE
//! on a stale file, connect errors, long paths, abstract names, Node as a peer
//! (node-net-behaviors.md A 15-18, F 60).
#![cfg(unix)] // unix sockets: files, abstract names, sun_path (Windows local sockets: tests/windows_pipes.rs)

mod util;

use nodenet::{Address, Error, Socket};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::Child;
use util::EventLog;

fn describe(e: &Error) -> String {
    format!(
        "{} {:?} {:?} {:?} {:?} {:?}",
        e.code(),
        e.errno(),
        e.syscall(),
        e.address(),
        e.port(),
        e.to_string()
    )
}

fn path_str(path: &Path) -> String {
    path.to_str().expect("utf-8 temp path").to_string()
}

/// Logs every event of a client socket as `tag event ...`.
fn trace(log: &EventLog, tag: &'static str, socket: &Socket) {
    let l = log.clone();
    socket.on_lookup(move |_, _, host| l.push(format!("{tag} lookup {host}")));
    let l = log.clone();
    socket.on_connect(move |_| l.push(format!("{tag} connect")));
    let l = log.clone();
    socket.on_data(move |_, chunk| {
        l.push(format!(
            "{tag} data {}",
            String::from_utf8_lossy(chunk.bytes())
        ))
    });
    let l = log.clone();
    socket.on_end(move |_| l.push(format!("{tag} end")));
    let l = log.clone();
    socket.on_finish(move |_| l.push(format!("{tag} finish")));
    let l = log.clone();
    socket.on_error(move |_, e| l.push(format!("{tag} error {}", describe(e))));
    let l = log.clone();
    socket.on_close(move |_, had_error| l.push(format!("{tag} close {had_error}")));
}

/// A unique abstract socket name (Linux): a leading NUL byte, no file system entry.
fn abstract_name(tag: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "\0nodenet-test-{}-{tag}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Kills the Node peer if the test fails before it exits.
struct Peer(Option<Child>);

impl Peer {
    fn start(script: &str, args: &[String]) -> Peer {
        Peer(Some(util::spawn_node(script, args)))
    }

    /// Waits for the peer's exit; returns its stdout, failing on a non-zero exit.
    fn finish(mut self) -> String {
        let child = self.0.take().expect("running");
        let output = child.wait_with_output().expect("wait for node");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "node failed: {}\nstdout: {stdout}\nstderr: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[test]
fn a_path_server_reports_its_path_and_accepted_sockets_have_no_inet_addresses() {
    util::with_deadline(util::LIMIT, || {
        let path = util::temp_socket_path("addr");
        let shown = path_str(&path);
        let log = EventLog::new();
        let l = log.clone();
        let server = nodenet::create_server(move |socket| {
            l.push(format!(
                "accepted {:?} {:?} {:?} {:?} {:?} {:?}",
                socket.remote_address(),
                socket.remote_port(),
                socket.remote_family(),
                socket.local_address(),
                socket.local_port(),
                socket.address()
            ));
            socket.end_with("hi");
        });
        server.listen(path.as_path());
        assert_eq!(server.address(), Some(Address::Path(shown.clone())));
        assert!(path.exists(), "the socket file exists while listening");
        let client = nodenet::connect(path.as_path());
        assert!(client.connecting());
        assert_eq!(client.remote_address(), None);
        trace(&log, "C", &client);
        let l = log.clone();
        client.on_connect(move |c| {
            l.push(format!(
                "client {:?} {:?} {:?} {:?}",
                c.remote_address(),
                c.remote_port(),
                c.local_port(),
                c.address()
            ))
        });
        let s = server.clone();
        client.on_close(move |_, _| {
            s.close();
        });
        nodenet::run().unwrap();
        let entries = log.entries();
        assert!(
            entries.contains(&"accepted None None None None None None".to_string()),
            "{entries:?}"
        );
        let client: Vec<_> = entries
            .iter()
            .filter(|e| !e.starts_with("accepted"))
            .cloned()
            .collect();
        assert_eq!(
            client,
            [
                "C connect",
                "client None None None None",
                "C data hi",
                "C end",
                "C finish",
                "C close false"
            ]
        );
        assert!(!path.exists(), "close removes the socket file");
    });
}

#[test]
fn echo_over_a_unix_socket() {
    util::with_deadline(util::LIMIT, || {
        let path = util::temp_socket_path("echo");
        let log = EventLog::new();
        let server = nodenet::create_server(|socket| {
            socket.pipe(&socket);
        });
        server.listen(path.as_path());
        let client = nodenet::connect(path.as_path());
        trace(&log, "C", &client);
        client.on_connect(|c| {
            c.write("hello over a unix socket");
        });
        client.on_data(|c, _| {
            c.end();
        });
        let s = server.clone();
        client.on_close(move |_, _| {
            s.close();
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "C connect",
                "C data hello over a unix socket",
                "C finish",
                "C end",
                "C close false"
            ]
        );
        assert!(!path.exists());
    });
}

#[test]
fn close_removes_the_socket_file_and_the_path_can_be_listened_on_again() {
    util::with_deadline(util::LIMIT, || {
        let path = util::temp_socket_path("again");
        let server = nodenet::create_server(|_| {});
        server.listen(path.as_path());
        assert!(path.exists());
        server.close();
        assert!(!path.exists(), "removed by close()");
        nodenet::run().unwrap();
        let log = EventLog::new();
        let again = nodenet::create_server(|_| {});
        let l = log.clone();
        again.on_error(move |_, e| l.push(format!("error {}", e.code())));
        let l = log.clone();
        again.listen(path.as_path()).on_listening(move |s| {
            l.push("listening again");
            s.close();
        });
        nodenet::run().unwrap();
        assert_eq!(log.entries(), ["listening again"]);
        assert!(!path.exists());
    });
}

#[test]
fn a_stale_file_at_the_path_gives_eaddrinuse_and_is_not_removed() {
    util::with_deadline(util::LIMIT, || {
        let path = util::temp_socket_path("stale");
        let shown = path_str(&path);
        std::fs::write(&path, "stale").unwrap();
        let log = EventLog::new();
        let server = nodenet::create_server(|_| panic!("no connection"));
        let l = log.clone();
        server.on_error(move |s, e| {
            l.push(format!("error {}", describe(e)));
            assert!(!s.listening());
            assert_eq!(s.address(), None);
        });
        let l = log.clone();
        server.on_listening(move |_| l.push("listening"));
        let l = log.clone();
        server.on_close(move |_| l.push("close"));
        server.listen(path.as_path());
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [format!(
                "error EADDRINUSE Some(-98) Some(\"listen\") Some({shown:?}) None \
                 \"listen EADDRINUSE: address already in use {shown}\""
            )]
        );
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "stale",
            "the pre-existing file is left alone"
        );
        std::fs::remove_file(&path).unwrap();
    });
}

#[test]
fn a_path_in_use_by_a_live_server_gives_eaddrinuse_and_the_first_server_keeps_working() {
    util::with_deadline(util::LIMIT, || {
        let path = util::temp_socket_path("busy");
        let shown = path_str(&path);
        let log = EventLog::new();
        let first = nodenet::create_server(|socket| {
            socket.end_with("first");
        });
        first.listen(path.as_path());
        let second = nodenet::create_server(|_| panic!("no connection on the second server"));
        let l = log.clone();
        let p = path.clone();
        second.on_error(move |_, e| {
            l.push(format!("error {}", describe(e)));
            // The failed listen did not remove the first server's socket file.
            let client = nodenet::connect(p.as_path());
            trace(&l, "C", &client);
        });
        second.listen(path.as_path());
        let f = first.clone();
        let l = log.clone();
        first.on_connection(move |_| {
            l.push("first connection");
            f.close();
        });
        nodenet::run().unwrap();
        let entries = log.entries();
        assert_eq!(
            entries[0],
            format!(
                "error EADDRINUSE Some(-98) Some(\"listen\") Some({shown:?}) None \
                 \"listen EADDRINUSE: address already in use {shown}\""
            )
        );
        let client: Vec<_> = entries.iter().filter(|e| e.starts_with("C ")).collect();
        assert_eq!(
            client,
            [
                "C connect",
                "C data first",
                "C end",
                "C finish",
                "C close false"
            ]
        );
        assert!(entries.contains(&"first connection".to_string()));
        assert!(!path.exists(), "removed by the first server's close");
    });
}

#[test]
fn connecting_to_a_missing_path_is_enoent() {
    util::with_deadline(util::LIMIT, || {
        let path = util::temp_socket_path("missing");
        let shown = path_str(&path);
        let log = EventLog::new();
        let client = nodenet::connect(path.as_path());
        trace(&log, "C", &client);
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                format!(
                    "C error ENOENT Some(-2) Some(\"connect\") Some({shown:?}) None \
                     \"connect ENOENT {shown}\""
                ),
                "C close true".to_string()
            ]
        );
    });
}

#[test]
fn connecting_to_a_regular_file_is_econnrefused() {
    util::with_deadline(util::LIMIT, || {
        let path = util::temp_socket_path("regular");
        let shown = path_str(&path);
        std::fs::write(&path, "").unwrap();
        let log = EventLog::new();
        let client = nodenet::connect(path.as_path());
        trace(&log, "C", &client);
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                format!(
                    "C error ECONNREFUSED Some(-111) Some(\"connect\") Some({shown:?}) None \
                     \"connect ECONNREFUSED {shown}\""
                ),
                "C close true".to_string()
            ]
        );
        std::fs::remove_file(&path).unwrap();
    });
}

/// A path longer than `sun_path` (108 bytes on Linux).
fn too_long_path() -> std::path::PathBuf {
    let dir = util::temp_socket_path("long")
        .parent()
        .unwrap()
        .to_path_buf();
    let path = dir.join(format!("{}.sock", "x".repeat(120)));
    assert!(path.as_os_str().len() > 108);
    path
}

// Node v20 silently truncates such a path (listen succeeds on the truncated name; connect then
// fails with ECONNRESET). We deliberately report ENAMETOOLONG instead of truncating.

#[test]
fn listening_on_a_path_longer_than_sun_path_is_an_enametoolong_error_event() {
    util::with_deadline(util::LIMIT, || {
        let path = too_long_path();
        let shown = path_str(&path);
        let log = EventLog::new();
        let server = nodenet::create_server(|_| {});
        let l = log.clone();
        server.on_error(move |s, e| {
            l.push(format!("error {}", describe(e)));
            assert!(!s.listening());
        });
        server.listen(path.as_path());
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [format!(
                "error ENAMETOOLONG Some(-36) Some(\"listen\") Some({shown:?}) None \
                 \"listen ENAMETOOLONG: name too long {shown}\""
            )]
        );
        assert!(!path.exists());
    });
}

#[test]
fn connecting_to_a_path_longer_than_sun_path_is_an_enametoolong_error_event() {
    util::with_deadline(util::LIMIT, || {
        let path = too_long_path();
        let shown = path_str(&path);
        let log = EventLog::new();
        let client = nodenet::connect(path.as_path());
        trace(&log, "C", &client);
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                format!(
                    "C error ENAMETOOLONG Some(-36) Some(\"connect\") Some({shown:?}) None \
                     \"connect ENAMETOOLONG {shown}\""
                ),
                "C close true".to_string()
            ]
        );
    });
}

#[test]
fn an_abstract_socket_works_and_leaves_no_file() {
    util::with_deadline(util::LIMIT, || {
        let name = abstract_name("abs");
        let log = EventLog::new();
        let server = nodenet::create_server(|socket| {
            socket.end_with("abs");
        });
        server.listen(name.as_str());
        assert_eq!(server.address(), Some(Address::Path(name.clone())));
        assert!(
            abstract_name_bound(&name),
            "the kernel lists the abstract name"
        );
        let client = nodenet::connect(name.as_str());
        trace(&log, "C", &client);
        let s = server.clone();
        client.on_close(move |_, _| {
            s.close();
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "C connect",
                "C data abs",
                "C end",
                "C finish",
                "C close false"
            ]
        );
        // No file for the name (an implementation dropping the NUL would create this one).
        assert!(!Path::new(&name[1..]).exists());
    });
}

/// Whether the kernel lists a unix socket bound to the abstract `name` (/proc/net/unix shows `@name`).
fn abstract_name_bound(name: &str) -> bool {
    let listed = format!("@{}", &name[1..]);
    std::fs::read_to_string("/proc/net/unix")
        .unwrap()
        .lines()
        .any(|line| line.ends_with(&listed))
}

#[test]

fn close_releases_an_abstract_name_at_once_so_it_can_be_listened_on_again() {
    // Node (relisten.js): `a.close(); b.listen(sameName)` succeeds: libuv closes the fd inside close().
    util::with_deadline(util::LIMIT, || {
        let name = abstract_name("relisten");
        let log = EventLog::new();
        let first = nodenet::create_server(|_| {});
        first.listen(name.as_str());
        assert!(first.listening());
        first.close();
        let released = !abstract_name_bound(&name);
        let again = nodenet::create_server(|_| {});
        let l = log.clone();
        again.on_error(move |_, e| l.push(format!("error {}", describe(e))));
        let l = log.clone();
        again.listen(name.as_str()).on_listening(move |s| {
            l.push("listening again");
            s.close();
        });
        nodenet::run().unwrap();
        assert_eq!(log.entries(), ["listening again"]);
        assert!(released, "the name is free right after close()");
    });
}

#[test]
fn a_node_client_talks_to_our_unix_server() {
    const CLIENT: &str = r#"
        const net = require('net');
        const c = net.connect(process.argv[1]);
        let got = '';
        c.setEncoding('utf8');
        c.on('connect', () => c.write('ping from node'));
        c.on('data', d => { got += d; if (got === 'ping from node') c.end(); });
        c.on('end', () => console.log('end ' + got));
        c.on('close', h => console.log('close ' + h));
        c.on('error', e => console.log('error ' + e.code));
    "#;
    util::with_deadline(util::LIMIT, || {
        let path = util::temp_socket_path("nodeclient");
        let log = EventLog::new();
        let l = log.clone();
        let server = nodenet::create_server(move |socket| {
            socket.pipe(&socket);
            let l2 = l.clone();
            socket.on_end(move |_| l2.push("S end"));
            let l2 = l.clone();
            socket.on_close(move |_, had_error| l2.push(format!("S close {had_error}")));
        });
        server.listen(path.as_path());
        let s = server.clone();
        server.on_connection(move |_| {
            s.close();
        });
        let peer = Peer::start(CLIENT, &[path_str(&path)]);
        nodenet::run().unwrap();
        assert_eq!(
            peer.finish().lines().collect::<Vec<_>>(),
            ["end ping from node", "close false"]
        );
        assert_eq!(log.entries(), ["S end", "S close false"]);
        assert!(!path.exists());
    });
}

#[test]
fn our_client_talks_to_a_node_unix_server() {
    const SERVER: &str = r#"
        const net = require('net');
        const s = net.createServer(c => {
            c.setEncoding('utf8');
            c.on('data', d => c.write('node:' + d));
            c.on('end', () => s.close());
        });
        s.listen(process.argv[1], () => console.log('listening'));
        s.on('close', () => console.log('server closed'));
    "#;
    util::with_deadline(util::LIMIT, || {
        let path = util::temp_socket_path("nodeserver");
        let mut peer = Peer::start(SERVER, &[path_str(&path)]);
        let mut stdout = BufReader::new(peer.0.as_mut().unwrap().stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert_eq!(line, "listening\n");
        let log = EventLog::new();
        let client = nodenet::connect(path.as_path());
        trace(&log, "C", &client);
        let l = log.clone();
        client.on_connect(move |c| {
            l.push(format!("remote {:?} {:?}", c.remote_address(), c.address()));
            c.write("hi");
        });
        client.on_data(|c, chunk| {
            if chunk.bytes() == b"node:hi" {
                c.end();
            }
        });
        nodenet::run().unwrap();
        assert_eq!(
            log.entries(),
            [
                "C connect",
                "remote None None",
                "C data node:hi",
                "C finish",
                "C end",
                "C close false"
            ]
        );
        let mut rest = String::new();
        stdout.read_to_string(&mut rest).unwrap();
        assert_eq!(rest, "server closed\n");
        peer.finish();
        assert!(!path.exists(), "Node removed its socket file");
    });
}
