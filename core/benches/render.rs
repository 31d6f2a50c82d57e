//! Benchmark of `render_payload`: time per payload and allocations counted.
//!
//! A small harness instead of criterion: criterion and its dependency tree
//! would more than double what CI compiles for the core, and the figures
//! needed are few — a warm-up, many timed samples, median and p99 per
//! payload, and an allocation count from a counting global allocator. The
//! core has no allocator at all, so the count must be 0; the harness proves
//! the counter works before trusting a 0.
//!
//! Two alerts: a typical service problem with every option set, and the
//! worst case — the largest inputs (megabytes of plugin output, as a core
//! can pass) made of what costs most to escape: control characters,
//! backtick runs, quotes, backslashes, mentions, multi-byte characters.
//!
//! `cargo bench -p mattermost-notify-core --bench render [-- --quick]`
//! prints one line per case for tests/bench/run.py:
//! `render <case> input_bytes=.. output_bytes=.. iterations=.. median_ns=.. p99_ns=.. allocations=..`
//!
//! Instructions per render, reproducibly (divide by 10):
//! `valgrind --tool=callgrind --toggle-collect='*render_payload*' target/release/deps/render-* --profile worst`

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mattermost_notify_core::actions::Action;
use mattermost_notify_core::limits::PAYLOAD_BUF_LEN;
use mattermost_notify_core::render::{ActionButton, Priority, StateSet};
use mattermost_notify_core::{
    render_payload, Kind, Notification, NotificationType, RenderOptions, State,
};

/// Counts every allocation (and reallocation) made through the global allocator.
struct CountingAllocator;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged; the counter has no effect on the memory handed out.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `ptr` and `layout` come from this allocator, which is `System`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` and `layout` come from this allocator, which is `System`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

fn allocations() -> usize {
    ALLOCATIONS.load(Ordering::Relaxed)
}

/// How long to measure: the full run and the CI smoke run.
struct Plan {
    warm_up: Duration,
    samples: usize,
    sample_time: Duration,
}

const FULL: Plan = Plan {
    warm_up: Duration::from_secs(1),
    samples: 300,
    sample_time: Duration::from_millis(5),
};

const QUICK: Plan = Plan {
    warm_up: Duration::from_millis(50),
    samples: 20,
    sample_time: Duration::from_millis(1),
};

/// Text that costs most per byte to render: every class of character the
/// renderer escapes or defuses, in a repeating pattern.
const HOSTILE: &str = "\u{0}\u{1}\u{7}\u{8}\u{b}\u{c}\u{1b}[31m\u{7f}\"\\/\r\n\t \
    ```````` @all @channel @here <!channel> <!here> <@u1> <http://x|y> \
    \u{2028}\u{2029}\u{feff}ünïcødé 🚨⚠️ `code` ~~~ **bold** @oncall; ";

fn repeat_to(unit: &str, len: usize) -> String {
    let mut s = String::with_capacity(len + unit.len());
    while s.len() < len {
        s.push_str(unit);
    }
    s
}

const CONTEXT: [(&str, &str); 4] = [
    ("h", "c36b8048-93ce-4385-ac19-ab5c90574b77"),
    ("s", "74fd8f59-1348-4e16-85f0-4a5c57c7dd62"),
    ("t", "1764287000"),
    (
        "sig",
        "0f4c1d2e3a5b6c7d8e9fa0b1c2d3e4f50f4c1d2e3a5b6c7d8e9fa0b1c2d3e4f5",
    ),
];

fn all_options<'a>(link_host: &'a str, link_service: &'a str) -> RenderOptions<'a> {
    let critical = StateSet::EMPTY.with(State::Critical).with(State::Down);
    RenderOptions {
        emoji: true,
        channel: Some("ops-alerts"),
        username: Some("Naemon"),
        icon_url: Some("https://mon.example.com/icon.png"),
        source: "Naemon on mon1.example.com",
        host_link: Some(link_host),
        service_link: Some(link_service),
        image_url: Some(link_service),
        mention: Some("@oncall"),
        mention_states: critical,
        priority: Some(Priority::Urgent),
        priority_states: critical,
        buttons: &[ActionButton {
            action: Action::Ack,
            url: "https://mon.example.com:8443/mattermost/ack",
            context: &CONTEXT,
        }],
        // Options added later render with their defaults.
        ..RenderOptions::default()
    }
}

/// Measures one case and prints its result line.
fn bench(name: &str, n: &Notification<'_>, opts: &RenderOptions<'_>, plan: &Plan) {
    let mut buf = vec![0u8; PAYLOAD_BUF_LEN];
    let output_len = match render_payload(n, opts, &mut buf) {
        Ok(len) => len,
        Err(e) => panic!("render {name}: {e}"),
    };
    // Evidence that the renderer is not broken: the payload is valid JSON.
    if let Err(e) = serde_json::from_slice::<serde_json::Value>(&buf[..output_len]) {
        panic!("render {name}: invalid JSON: {e}");
    }

    // Warm up and find how many renders fill one sample.
    let start = Instant::now();
    let mut warm = 0u64;
    while start.elapsed() < plan.warm_up {
        let _ = black_box(render_payload(black_box(n), black_box(opts), &mut buf));
        warm += 1;
    }
    let per_render = plan.warm_up.as_nanos() as f64 / warm.max(1) as f64;
    let batch = ((plan.sample_time.as_nanos() as f64 / per_render) as u64).max(1);

    let mut samples = Vec::with_capacity(plan.samples);
    let mut allocated = 0;
    for _ in 0..plan.samples {
        let before = allocations();
        let t = Instant::now();
        for _ in 0..batch {
            let _ = black_box(render_payload(black_box(n), black_box(opts), &mut buf));
        }
        let elapsed = t.elapsed();
        allocated += allocations() - before;
        samples.push(elapsed.as_nanos() as f64 / batch as f64);
    }
    samples.sort_by(f64::total_cmp);
    let median = samples[samples.len() / 2];
    let p99 = samples[(samples.len() * 99 / 100).min(samples.len() - 1)];
    let input = n.host_uuid.len()
        + n.host_name.len()
        + n.host_address.len()
        + n.service_uuid.len()
        + n.service_name.len()
        + n.output.len()
        + n.long_output.len()
        + n.ack_author.len()
        + n.ack_comment.len();
    println!(
        "render {name} input_bytes={input} output_bytes={output_len} iterations={} \
         median_ns={median:.0} p99_ns={p99:.0} allocations={allocated}",
        batch * plan.samples as u64,
    );
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let plan = if quick { &QUICK } else { &FULL };

    // The counter must see an allocation, or a 0 below proves nothing.
    let before = allocations();
    black_box(Box::new(black_box(1u64)));
    assert!(
        allocations() > before,
        "the counting allocator counts nothing"
    );

    let host_link = "https://mon.example.com/a/hosts/browser/{hostuuid}";
    let service_link = "https://mon.example.com/a/services/browser/{serviceuuid}";
    let opts = all_options(host_link, service_link);

    let typical = Notification {
        kind: Kind::Service,
        notification_type: NotificationType::Problem,
        state: State::Critical,
        host_uuid: "c36b8048-93ce-4385-ac19-ab5c90574b77",
        host_name: "web01.example.com",
        host_address: "192.0.2.10",
        service_uuid: "74fd8f59-1348-4e16-85f0-4a5c57c7dd62",
        service_name: "HTTP",
        output: "CRITICAL - Socket timeout after 10 seconds",
        long_output: "connect to address 192.0.2.10 and port 443: timed out",
        ack_author: "",
        ack_comment: "",
        event_time: 1_764_287_000,
    };

    // Every text field as large and as hostile as a core can make it:
    // names of 64 KiB, outputs and comment of megabytes.
    let name = repeat_to(HOSTILE, 64 * 1024);
    let big = repeat_to(HOSTILE, 2 * 1024 * 1024);
    let worst = Notification {
        kind: Kind::Service,
        notification_type: NotificationType::Acknowledgement,
        state: State::Critical,
        host_uuid: &name,
        host_name: &name,
        host_address: &name,
        service_uuid: &name,
        service_name: &name,
        output: &big,
        long_output: &big,
        ack_author: &name,
        ack_comment: &big,
        event_time: u64::MAX,
    };
    // A PROBLEM carries the button and the mention: the other worst path.
    let worst_problem = Notification {
        notification_type: NotificationType::Problem,
        ..worst
    };
    let cases = [
        ("typical", typical),
        ("worst", worst),
        ("worst_problem", worst_problem),
    ];

    // `--profile CASE`: just render CASE `PROFILE_RENDERS` times, for
    // `valgrind --tool=callgrind --toggle-collect='*render_payload*'`, whose
    // instruction counts are reproducible where timings are not.
    if let Some(name) = profile_case() {
        let mut buf = vec![0u8; PAYLOAD_BUF_LEN];
        let Some((_, n)) = cases.iter().find(|(c, _)| *c == name) else {
            panic!("--profile: no case {name:?}");
        };
        for _ in 0..PROFILE_RENDERS {
            let _ = black_box(render_payload(black_box(n), black_box(&opts), &mut buf));
        }
        println!("rendered {name} {PROFILE_RENDERS} times");
        return;
    }
    for (name, n) in &cases {
        bench(name, n, &opts, plan);
    }
}

/// Renders per `--profile` run: enough to average, few enough for valgrind.
const PROFILE_RENDERS: usize = 10;

fn profile_case() -> Option<String> {
    let mut args = std::env::args().skip_while(|a| a != "--profile");
    args.next()?;
    args.next()
}
