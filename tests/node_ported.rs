//! Node.js's own `net` tests, ported to nodenet.
//!
//! Each `mod` is named after the Node test file it comes from (test/parallel/test-net-*.js, moved to
//! test/parallel/net/*.js on Node's main branch) and says so in its header. Those files are
//! Copyright Node.js contributors, under the MIT licence (https://github.com/nodejs/node/blob/main/LICENSE);
//! the ports keep their scenarios and assertions, translated to nodenet's API.
//!
//! Tests that cannot apply (JavaScript-only argument validation, cluster, child processes, APIs
//! nodenet does not have) are listed at the end of each part as not ported, with the reason.

mod util;

#[path = "node_ported/part_1.rs"]
mod part_1;
#[path = "node_ported/part_2.rs"]
mod part_2;
