//! Handing connections and listening sockets to another process (`SCM_RIGHTS`), with two real
//! processes: the test binary re-runs itself as the child.
#![cfg(unix)]

mod util;

use nodenet::{ListenOptions, ServerOptions, Socket, SocketOptions};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::IntoRawFd;
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::{Child, Command};
use std::time::Duration;
use util::EventLog;

const CHILD: &str = "NODENET_HANDOFF_CHILD";
const CHANNEL: &str = "NODENET_HANDOFF_CHANNEL";

/// Runs `test` of this binary as a child process, connected to a channel; returns the child and
/// the channel.
fn spawn_child(test: &str) -> (Child, UnixStream) {
    let path = util::temp_socket_path("handoff");
    let listener = UnixListener::bind(&path).unwrap();
    let child = Command::new(std::env::current_exe().unwrap())
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, test)
        .env(CHANNEL, &path)
        .spawn()
        .unwrap();
    let (channel, _) = listener.accept().unwrap();
    let _ = std::fs::remove_file(&path);
    (child, channel)
}

/// In the child: the channel to the parent, if this process is the child for `test`.
fn child_channel(test: &str) -> Option<UnixStream> {
    (std::env::var(CHILD).as_deref() == Ok(test)).then(|| {
        UnixStream::connect(std::env::var(CHANNEL).unwrap()).expect("the parent's channel")
    })
}

fn wait_success(mut child: Child) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "child: {status}");
            return;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the child did not exit");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_paused_connection_handed_to_another_process_loses_no_byte() {
    const NAME: &str = "a_paused_connection_handed_to_another_process_loses_no_byte";
    if let Some(channel) = child_channel(NAME) {
        // The child: adopt the connection, answer everything it read, end.
        let fd = nodenet::handoff::receive(&channel).unwrap();
        let socket = Socket::new(SocketOptions::default().fd(fd.into_raw_fd()));
        let got = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let g = got.clone();
        socket.on_data(move |_, chunk| g.borrow_mut().extend_from_slice(chunk.bytes()));
        socket.on_end(move |s| {
            let text = String::from_utf8_lossy(&got.borrow()).into_owned();
            s.end_with(format!("child {}: {text}", std::process::id()));
        });
        nodenet::run().unwrap();
        return;
    }
    util::with_deadline(util::LIMIT, || {
        let (child, channel) = spawn_child(NAME);
        let log = EventLog::new();
        let l = log.clone();
        let server = nodenet::create_server_with(
            ServerOptions::default().pause_on_connect(true),
            move |socket| {
                let l2 = l.clone();
                socket.on_close(move |_, had_error| l2.push(format!("close {had_error}")));
                let l2 = l.clone();
                socket.on_data(move |_, _| l2.push("data in the parent"));
                // Give the client's bytes time to arrive here first: they must still reach
                // the child, since nothing was read.
                std::thread::sleep(Duration::from_millis(50));
                match socket.send_handle(&channel) {
                    Ok(()) => l.push("sent"),
                    Err(e) => l.push(format!("send failed {e}")),
                }
            },
        );
        let s = server.clone();
        server.on_connection(move |_| {
            s.close();
        });
        server.listen((0, "127.0.0.1"));
        let client = std::sync::Arc::new(std::sync::Mutex::new(None));
        let c = client.clone();
        server.on_listening(move |s| {
            let port = util::port_of(s);
            *c.lock().unwrap() = Some(std::thread::spawn(move || {
                let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
                stream.write_all(b"hello from the client").unwrap();
                stream.shutdown(Shutdown::Write).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                let mut answer = String::new();
                stream.read_to_string(&mut answer).unwrap();
                answer
            }));
        });
        nodenet::run().unwrap();
        let answer = client.lock().unwrap().take().unwrap().join().unwrap();
        let child_pid = child.id();
        wait_success(child);
        assert_eq!(answer, format!("child {child_pid}: hello from the client"));
        assert_eq!(log.entries(), ["sent", "close false"]);
    });
}

#[test]
fn a_listening_socket_handed_to_another_process_serves_there() {
    const NAME: &str = "a_listening_socket_handed_to_another_process_serves_there";
    if let Some(channel) = child_channel(NAME) {
        let fd = nodenet::handoff::receive(&channel).unwrap();
        let server = nodenet::create_server(|socket| {
            socket.end_with(format!("served by {}", std::process::id()));
        });
        server.listen(ListenOptions::fd(fd.into_raw_fd()));
        let s = server.clone();
        server.on_connection(move |_| {
            s.close();
        });
        nodenet::run().unwrap();
        return;
    }
    util::with_deadline(util::LIMIT, || {
        let (child, channel) = spawn_child(NAME);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        nodenet::handoff::send_listener(&channel, &listener).unwrap();
        // Our copy serves here for a moment, then this server closes: that must not stop the
        // child's server, which holds the same socket (no shutdown of a shared listener).
        let ours = nodenet::create_server(|_| panic!("closed before any client came"));
        ours.listen(ListenOptions::fd(listener.into_raw_fd()));
        ours.on_listening(|s| {
            s.close();
        });
        nodenet::run().unwrap();
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        assert_eq!(answer, format!("served by {}", child.id()));
        drop(stream);
        wait_success(child);
    });
}

#[test]
fn a_socket_that_has_read_cannot_be_handed_off_and_stays_usable() {
    util::with_deadline(util::LIMIT, || {
        let (here, _there) = UnixStream::pair().unwrap();
        let log = EventLog::new();
        let l = log.clone();
        let server = nodenet::create_server(move |socket| {
            let e = socket.send_handle(&here).unwrap_err();
            l.push(format!("{} {}", e.code(), socket.destroyed()));
            socket.end_with("still here");
        });
        server.listen((0, "127.0.0.1"));
        server.on_listening(|s| {
            let c = nodenet::connect((util::port_of(s), "127.0.0.1"));
            let s = s.clone();
            c.on_data(move |c, chunk| {
                assert_eq!(chunk.bytes(), b"still here");
                c.end();
                s.close();
            });
        });
        nodenet::run().unwrap();
        assert_eq!(log.entries(), ["ERR_INVALID_STATE false"]);
    });
}

#[test]
fn a_non_socket_fd_is_err_invalid_fd_type() {
    util::with_deadline(util::LIMIT, || {
        let file = std::fs::File::open("/dev/null").unwrap();
        let log = EventLog::new();
        let socket = Socket::new(SocketOptions::default().fd(file.into_raw_fd()));
        let l = log.clone();
        socket.on_error(move |_, e| l.push(format!("error {} {}", e.code(), e.message())));
        let l = log.clone();
        socket.on_close(move |_, had_error| l.push(format!("close {had_error}")));
        nodenet::run().unwrap();
        // Node throws in the constructor; here the error is an event, and the socket, which
        // never had a handle, closes with Node's no-handle `close` (falsy).
        assert_eq!(
            log.entries(),
            [
                "error ERR_INVALID_FD_TYPE Unsupported fd type: not a stream socket",
                "close false"
            ]
        );
    });
}
