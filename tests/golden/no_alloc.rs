//! Proves `render_payload` allocates nothing: a counting global allocator
//! that counts only on the thread that is rendering, while it renders.

use mattermost_notify_core::actions::Action;
use mattermost_notify_core::limits::PAYLOAD_BUF_LEN;
use mattermost_notify_core::render::{ActionButton, Priority, StateSet};
use mattermost_notify_core::{
    render_payload, Kind, Notification, NotificationType, RenderOptions, State,
};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

// Per thread, so tests running in parallel do not count each other's
// allocations. Const-initialised thread locals need no allocation.
thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

fn note_allocation() {
    if ARMED.with(Cell::get) {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
    }
}

// SAFETY: every call is forwarded unchanged to the system allocator; the
// wrapper only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_allocation();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_allocation();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by `f` on this thread.
fn allocations_in(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.with(Cell::get);
    ARMED.with(|a| a.set(true));
    f();
    ARMED.with(|a| a.set(false));
    ALLOCATIONS.with(Cell::get) - before
}

#[test]
fn the_counter_sees_allocations() {
    let n = allocations_in(|| drop(std::hint::black_box(vec![1u8; 64])));
    assert!(n >= 1, "the allocator counts");
}

#[test]
fn render_payload_allocates_nothing_even_when_it_must_cut() {
    // Inputs are prepared before counting starts.
    let huge = "@all `` <!channel> \u{1}".repeat(200_000);
    let context = [("host", "web1"), ("sig", "00ff")];
    let opts = RenderOptions {
        channel: Some("ops"),
        host_link: Some("https://mon/h/{hostname}"),
        service_link: Some("https://mon/s/{servicename}/{hostuuid}"),
        image_url: Some("https://graphs/render?h={hostname}&s={servicename}"),
        mention: Some("@oncall"),
        mention_states: StateSet::EMPTY.with(State::Critical),
        priority: Some(Priority::Urgent),
        priority_states: StateSet::EMPTY.with(State::Critical),
        buttons: &[ActionButton {
            action: Action::Ack,
            url: "https://mon/ack",
            context: &context,
        }],
        ..RenderOptions::default()
    };
    let n = Notification {
        kind: Kind::Service,
        notification_type: NotificationType::Problem,
        state: State::Critical,
        host_uuid: "web1",
        host_name: &huge,
        host_address: &huge,
        service_uuid: "http",
        service_name: "HTTP",
        output: &huge,
        long_output: &huge,
        ack_author: &huge,
        ack_comment: &huge,
        event_time: 1_764_284_280,
    };
    let mut buf = vec![0u8; PAYLOAD_BUF_LEN];
    let mut result = None;
    let count = allocations_in(|| result = Some(render_payload(&n, &opts, &mut buf)));
    let len = result.unwrap().expect("renders");
    assert_eq!(count, 0, "render_payload allocated");
    let text = std::str::from_utf8(&buf[..len]).unwrap();
    assert!(text.contains(" bytes cut]"), "the cut path ran");
}
