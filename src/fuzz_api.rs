//! Not part of the public API: thin wrappers over crate internals for the fuzz targets
//! (`fuzz/`) and the property tests (`tests/fuzz_properties.rs`) only.
//!
//! Nothing here is covered by semver; it may change or disappear in any release.

use crate::Encoding;
use crate::encoding;

/// The incremental decoder behind `Socket::set_encoding` (Node's `StringDecoder`).
///
/// A wrapper over the crate's internal decoder, for fuzzing and tests only.
#[derive(Clone, Debug)]
pub struct Decoder(encoding::Decoder);

impl Decoder {
    /// A decoder for `encoding` with nothing buffered.
    pub fn new(encoding: Encoding) -> Decoder {
        Decoder(encoding::Decoder::new(encoding))
    }

    /// Decodes `bytes`, keeping an incomplete trailing sequence for the next call
    /// (`StringDecoder.write`).
    pub fn write(&mut self, bytes: &[u8]) -> String {
        self.0.write(bytes)
    }

    /// Flushes what is left at end of stream and resets the decoder (`StringDecoder.end`).
    pub fn end(&mut self) -> String {
        self.0.end()
    }
}
