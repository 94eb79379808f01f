//! A chat server on a line protocol: the first line a client sends is its nickname, every later
//! line goes to everybody else as `nick: text`, and joins and leaves are announced as
//! `* nick joined` / `* nick left`.
//!
//! Run it with `cargo run --example chat -- [PORT] [HOST]` (default 8124 on 127.0.0.1) and open a
//! few terminals with `nc 127.0.0.1 8124`. The room lives in an `Rc<RefCell<_>>`: every listener
//! runs on the loop thread, one at a time, so no lock is needed, as in a Node program.

use nodenet::{Encoding, Socket};
use std::cell::RefCell;
use std::rc::Rc;

/// A client that sends a longer line than this is disconnected.
const MAX_LINE: usize = 4096;
/// A client that does not read is disconnected once this much is queued for it.
const MAX_QUEUED: usize = 1024 * 1024;

/// Who is in the room.
#[derive(Default)]
struct Room {
    members: Vec<(Socket, String)>,
}

impl Room {
    fn nick_of(&self, socket: &Socket) -> Option<String> {
        self.members
            .iter()
            .find(|(s, _)| s == socket)
            .map(|(_, nick)| nick.clone())
    }

    /// The sockets of everybody except `from` (cloned out, so no borrow is held while writing).
    fn others(&self, from: &Socket) -> Vec<Socket> {
        self.members
            .iter()
            .filter(|(s, _)| s != from)
            .map(|(s, _)| s.clone())
            .collect()
    }
}

fn broadcast(room: &RefCell<Room>, from: &Socket, line: &str) {
    for socket in room.borrow().others(from) {
        // Node would buffer without limit for a client that never reads; we drop it instead.
        if !socket.write(line) && socket.buffer_size() > MAX_QUEUED {
            socket.destroy();
        }
    }
}

/// One complete line from `socket`.
fn handle_line(room: &Rc<RefCell<Room>>, socket: &Socket, line: &str) {
    let member = room.borrow().nick_of(socket);
    if let Some(nick) = member {
        broadcast(room, socket, &format!("{nick}: {line}\n"));
        return;
    }
    // Still choosing a nickname.
    let nick = line.trim();
    if nick.is_empty() || nick.contains(char::is_whitespace) || nick.starts_with('*') {
        socket.write("a nickname is one word, try again:\n");
        return;
    }
    let online: Vec<String> = room
        .borrow()
        .members
        .iter()
        .map(|(_, n)| n.clone())
        .collect();
    if online.iter().any(|n| n == nick) {
        socket.write(format!("{nick} is taken, try again:\n"));
        return;
    }
    socket.write(if online.is_empty() {
        format!("welcome, {nick}! nobody else is here yet\n")
    } else {
        format!("welcome, {nick}! online: {}\n", online.join(", "))
    });
    broadcast(room, socket, &format!("* {nick} joined\n"));
    room.borrow_mut()
        .members
        .push((socket.clone(), nick.to_string()));
}

fn main() -> Result<(), nodenet::Error> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args
        .next()
        .map_or(8124, |p| p.parse().expect("PORT is a number"));
    let host = args.next().unwrap_or_else(|| "127.0.0.1".to_string());

    let room = Rc::new(RefCell::new(Room::default()));
    let server = nodenet::create_server(move |socket| {
        // socket.setEncoding('utf8'): `data` brings whole characters, even if a read splits one.
        socket.set_encoding(Some(Encoding::Utf8));
        socket.write("nickname?\n");

        // let pending = ''; socket.on('data', (text) => { pending += text; ...split on '\n'... })
        let mut pending = String::new();
        let in_room = room.clone();
        socket.on_data(move |socket, chunk| {
            pending.push_str(chunk.text().unwrap_or_default());
            while let Some(newline) = pending.find('\n') {
                let line: String = pending.drain(..=newline).collect();
                handle_line(&in_room, socket, line.trim_end_matches(['\n', '\r']));
            }
            if pending.len() > MAX_LINE {
                socket.destroy();
            }
        });

        // A reset from a client that vanished is an `error` event: log it, `close` follows.
        socket.on_error(|_, err| eprintln!("client error: {err}"));

        let in_room = room.clone();
        socket.on_close(move |socket, _had_error| {
            let nick = in_room.borrow().nick_of(socket);
            if let Some(nick) = nick {
                in_room.borrow_mut().members.retain(|(s, _)| s != socket);
                broadcast(&in_room, socket, &format!("* {nick} left\n"));
            }
        });
    });
    server.on_listening(|server| {
        println!("listening on {}", server.address().expect("bound"));
    });
    server.listen((port, host.as_str()));
    nodenet::run()
}
