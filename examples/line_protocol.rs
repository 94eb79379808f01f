//! A tiny key-value server on a text protocol, one command per line:
//!
//! ```text
//! SET key value   ->  OK            (the value is the rest of the line, spaces included)
//! GET key         ->  VALUE value   or  NOT_FOUND
//! DEL key         ->  OK            or  NOT_FOUND
//! QUIT            ->  BYE, then the server ends the connection
//! anything else   ->  ERR ...
//! ```
//!
//! It shows how to cut a byte stream into lines: a command may arrive split across reads, and one
//! read may hold several commands. Run it with `cargo run --example line_protocol -- [PORT] [HOST]`
//! (default 8124 on 127.0.0.1) and type commands into `nc 127.0.0.1 8124`, or send a batch from
//! Node: `node -e "const s = require('net').connect(8124, '127.0.0.1'); s.pipe(process.stdout);
//! s.end('SET a 1\nGET a\n')"`. All clients share one store.

use nodenet::{Encoding, ReadyState, Socket};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// A client that sends a longer line than this gets an error and is disconnected.
const MAX_LINE: usize = 64 * 1024;

type Store = Rc<RefCell<HashMap<String, String>>>;

/// Runs one command line against the store and returns the reply (without its newline).
fn execute(store: &mut HashMap<String, String>, line: &str) -> String {
    let (command, args) = line.split_once(' ').unwrap_or((line, ""));
    let args = args.trim_start();
    match command.to_ascii_uppercase().as_str() {
        "SET" => match args.split_once(' ') {
            Some((key, value)) if !key.is_empty() => {
                store.insert(key.to_string(), value.to_string());
                "OK".to_string()
            }
            _ => "ERR usage: SET key value".to_string(),
        },
        "GET" | "DEL" if args.is_empty() || args.contains(' ') => {
            format!("ERR usage: {} key", command.to_ascii_uppercase())
        }
        "GET" => match store.get(args) {
            Some(value) => format!("VALUE {value}"),
            None => "NOT_FOUND".to_string(),
        },
        "DEL" => match store.remove(args) {
            Some(_) => "OK".to_string(),
            None => "NOT_FOUND".to_string(),
        },
        _ => format!("ERR unknown command '{command}'"),
    }
}

/// Handles one complete line from `socket`.
fn handle_line(store: &Store, socket: &Socket, line: &str) {
    // After QUIT, whatever the client sent behind it is ignored (Node: `if (!socket.writable) return`).
    if matches!(
        socket.ready_state(),
        ReadyState::ReadOnly | ReadyState::Closed
    ) {
        return;
    }
    let line = line.trim_end_matches('\r'); // telnet and some nc builds send CRLF
    if line.trim().is_empty() {
        return;
    }
    if line.eq_ignore_ascii_case("QUIT") {
        socket.end_with("BYE\n"); // socket.end('BYE\n')
        return;
    }
    let reply = execute(&mut store.borrow_mut(), line);
    socket.write(reply + "\n");
}

fn main() -> Result<(), nodenet::Error> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args
        .next()
        .map_or(8124, |p| p.parse().expect("PORT is a number"));
    let host = args.next().unwrap_or_else(|| "127.0.0.1".to_string());

    let store = Store::default();
    let server = nodenet::create_server(move |socket| {
        socket.set_encoding(Some(Encoding::Utf8)); // socket.setEncoding('utf8')

        // The line buffer: what came after the last newline waits for the next read.
        let pending = Rc::new(RefCell::new(String::new()));
        let (buffer, store_for_data) = (pending.clone(), store.clone());
        socket.on_data(move |socket, chunk| {
            let mut buffer = buffer.borrow_mut();
            buffer.push_str(chunk.text().unwrap_or_default());
            while let Some(newline) = buffer.find('\n') {
                let line: String = buffer.drain(..=newline).collect();
                handle_line(&store_for_data, socket, &line[..line.len() - 1]);
            }
            if buffer.len() > MAX_LINE {
                buffer.clear();
                socket.end_with("ERR line too long\n");
            }
        });

        // `end` comes before our side is ended (we do not allow half-open sockets, so the socket
        // ends itself right after this listener): a last command without a newline still counts.
        let store_for_end = store.clone();
        socket.on_end(move |socket| {
            let last = std::mem::take(&mut *pending.borrow_mut());
            handle_line(&store_for_end, socket, &last);
        });
        socket.on_error(|_, err| eprintln!("client error: {err}"));
    });
    server.on_listening(|server| {
        println!("listening on {}", server.address().expect("bound"));
    });
    server.listen((port, host.as_str()));
    nodenet::run()
}
