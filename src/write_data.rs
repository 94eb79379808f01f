//! `WriteData`: what `Socket::write` accepts, so owned buffers are queued without a copy.

use std::borrow::Cow;

/// Bytes that `Socket::write` accepts: slices and strings (copied only if they must be queued) and owned
/// `Vec<u8>`/`String` (moved into the queue, never copied).
///
/// # Examples
///
/// ```
/// let server = nodenet::create_server(|socket| {
///     let owned = vec![b'!'; 3];
///     socket.write(b"bytes ");
///     socket.write("text ");
///     socket.write(&owned[..1]); // copied only if it must be queued
///     socket.write(String::from(" string"));
///     socket.end_with(owned); // moved into the queue
/// });
/// server.listen((0, "127.0.0.1")).on_listening(|server| {
///     let port = server.address().unwrap().port().unwrap();
///     let client = nodenet::connect((port, "127.0.0.1"));
///     let received = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
///     let sink = received.clone();
///     client.on_data(move |_, chunk| sink.borrow_mut().extend_from_slice(chunk.bytes()));
///     let server = server.clone();
///     client.on_close(move |_, _| {
///         assert_eq!(*received.borrow(), b"bytes text ! string!!!");
///         server.close();
///     });
/// });
/// nodenet::run().unwrap();
/// ```
pub trait WriteData {
    /// The bytes to send.
    fn as_bytes(&self) -> &[u8];
    /// The bytes as an owned buffer (moved when already owned).
    fn into_vec(self) -> Vec<u8>;
}

impl WriteData for Vec<u8> {
    fn as_bytes(&self) -> &[u8] {
        self
    }
    fn into_vec(self) -> Vec<u8> {
        self
    }
}

impl WriteData for String {
    fn as_bytes(&self) -> &[u8] {
        str::as_bytes(self)
    }
    fn into_vec(self) -> Vec<u8> {
        self.into_bytes()
    }
}

impl WriteData for Box<[u8]> {
    fn as_bytes(&self) -> &[u8] {
        self
    }
    fn into_vec(self) -> Vec<u8> {
        self.into_vec()
    }
}

impl WriteData for Cow<'_, [u8]> {
    fn as_bytes(&self) -> &[u8] {
        self
    }
    fn into_vec(self) -> Vec<u8> {
        self.into_owned()
    }
}

impl WriteData for &[u8] {
    fn as_bytes(&self) -> &[u8] {
        self
    }
    fn into_vec(self) -> Vec<u8> {
        self.to_vec()
    }
}

impl<const N: usize> WriteData for &[u8; N] {
    fn as_bytes(&self) -> &[u8] {
        &self[..]
    }
    fn into_vec(self) -> Vec<u8> {
        self.to_vec()
    }
}

impl<const N: usize> WriteData for [u8; N] {
    fn as_bytes(&self) -> &[u8] {
        &self[..]
    }
    fn into_vec(self) -> Vec<u8> {
        self.to_vec()
    }
}

impl WriteData for &str {
    fn as_bytes(&self) -> &[u8] {
        str::as_bytes(self)
    }
    fn into_vec(self) -> Vec<u8> {
        str::as_bytes(self).to_vec()
    }
}

impl WriteData for &Vec<u8> {
    fn as_bytes(&self) -> &[u8] {
        self
    }
    fn into_vec(self) -> Vec<u8> {
        self.clone()
    }
}

impl WriteData for &String {
    fn as_bytes(&self) -> &[u8] {
        str::as_bytes(self)
    }
    fn into_vec(self) -> Vec<u8> {
        str::as_bytes(self).to_vec()
    }
}
