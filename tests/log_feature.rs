//! The `log` feature: connection lifecycle and errors go to the `log` crate (target "nodenet").
//!
//! Run with `cargo test --features log --test log_feature` (CI does).
#![cfg(feature = "log")]

mod util;

use log::{Level, Log, Metadata, Record};
use parking_lot::Mutex;

/// Keeps every record of the "nodenet" target.
struct Collector;

static RECORDS: Mutex<Vec<(Level, String)>> = Mutex::new(Vec::new());

impl Log for Collector {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == "nodenet"
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            RECORDS
                .lock()
                .push((record.level(), record.args().to_string()));
        }
    }

    fn flush(&self) {}
}

static COLLECTOR: Collector = Collector;

#[test]
fn lifecycle_and_errors_are_logged_at_their_levels() {
    log::set_logger(&COLLECTOR).expect("the only logger of this test binary");
    log::set_max_level(log::LevelFilter::Trace);
    util::with_deadline(util::LIMIT, || {
        let server = nodenet::create_server(|c| {
            c.end();
        });
        server.listen((0, "127.0.0.1"));
        server.on_listening(|s| {
            let port = util::port_of(s);
            let client = nodenet::connect((port, "127.0.0.1"));
            client.on_end(|c| {
                c.destroy_with(nodenet::Error::new("ERR_TEST", "boom"));
            });
            let s = s.clone();
            client.on_error(move |_, _| {
                s.close();
            });
        });
        nodenet::run().unwrap();
    });
    let records = RECORDS.lock().clone();
    let has = |level: Level, needle: &str| {
        records
            .iter()
            .any(|(l, text)| *l == level && text.contains(needle))
    };
    assert!(has(Level::Info, "listening on 127.0.0.1:"), "{records:#?}");
    assert!(
        has(Level::Debug, "connection from 127.0.0.1:"),
        "{records:#?}"
    );
    assert!(has(Level::Debug, "connected to 127.0.0.1:"), "{records:#?}");
    assert!(has(Level::Debug, "error ERR_TEST"), "{records:#?}");
    assert!(has(Level::Debug, "closed (had_error true)"), "{records:#?}");
    assert!(
        has(Level::Debug, "closed (had_error false)"),
        "{records:#?}"
    );
    assert!(has(Level::Info, "closed"), "{records:#?}");
    assert!(
        !records.iter().any(|(l, _)| *l <= Level::Warn),
        "nothing at warn or above in a clean run: {records:#?}"
    );
}
