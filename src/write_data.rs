//! `WriteData`: what `Socket::write` accepts, so owned buffers are queued without a copy.

use std::borrow::Cow;

/// Bytes that `Socket::write` accepts: slices and strings (copied only if they must be queued) and owned
/// `Vec<u8>`/`String` (moved into the queue, never copied).
///
/// # Examples
///
/// ```no_run
/// # let socket = nodenet::Socket::new(Default::default());
/// let owned = vec![1u8, 2, 3];
/// socket.write(b"bytes");
/// socket.write("text");
/// socket.write(&owned[..]);
/// socket.write(owned);
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
