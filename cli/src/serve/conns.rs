//! The registry of live connections: who is connected, who is mid-request
//! and who is only holding a keep-alive connection open.
//!
//! It owns three decisions. A new connection gets one of the
//! [`MAX_CONNECTIONS`] slots; when they are all taken, the connection idle
//! the longest (no byte of a request received) is hung up to make room, so
//! clients that merely hold keep-alive connections can never lock a genuine
//! click out. A connection becomes busy at the first byte of a request, and
//! at most [`MAX_BUSY_PER_ADDRESS`] connections of one client address may be
//! busy at once, so one address trickling requests cannot hold every slot.
//! Idle connections are not capped per address: they give way to anyone.
//!
//! The registry never blocks on I/O: hanging up is a `shutdown()` of a
//! cloned socket, which wakes the connection's thread, and the slot is
//! free the moment the entry is removed.

use super::http::{MAX_BUSY_PER_ADDRESS, MAX_CONNECTIONS};
use std::net::{IpAddr, Ipv6Addr, Shutdown, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// How the registry ends a connection it evicts.
pub trait Hangup {
    /// Ends the connection; its thread's next (or current) read returns.
    fn hang_up(&self);
}

impl Hangup for TcpStream {
    fn hang_up(&self) {
        let _ = self.shutdown(Shutdown::Both);
    }
}

/// Why a connection or a request is not served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Every slot is busy with a request; nothing idle could give way.
    Full,
    /// [`MAX_BUSY_PER_ADDRESS`] requests from this address are in flight.
    AddressBusy,
    /// The registry evicted this connection to make room for another.
    Evicted,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refused::Full => "every connection slot is busy",
            Refused::AddressBusy => "too many requests in flight from this address",
            Refused::Evicted => "closed to make room for a new connection",
        })
    }
}

/// The address a cap applies to: an IPv4 address (also when it arrives
/// IPv4-mapped on a dual-stack socket), or an IPv6 /64, the block one
/// subscriber usually holds whole.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64))),
    }
}

struct Entry<H> {
    id: u64,
    key: IpAddr,
    /// `None` while a request is in flight.
    idle_since: Option<Instant>,
    /// Writing its last answer: not evictable (the answer must get out),
    /// but no longer a request in flight of its address, so a client that
    /// reconnects at once is not refused for the connection it left.
    closing: bool,
    hangup: H,
}

/// The live connections, at most [`MAX_CONNECTIONS`].
pub struct Registry<H: Hangup = TcpStream> {
    entries: Mutex<Vec<Entry<H>>>,
    next_id: AtomicU64,
}

impl<H: Hangup> Default for Registry<H> {
    fn default() -> Self {
        Registry {
            entries: Mutex::new(Vec::with_capacity(MAX_CONNECTIONS)),
            next_id: AtomicU64::new(0),
        }
    }
}

/// A connection's place in the registry, given back on drop.
pub struct Ticket<H: Hangup = TcpStream> {
    registry: Arc<Registry<H>>,
    id: u64,
}

impl<H: Hangup> Registry<H> {
    fn lock(&self) -> MutexGuard<'_, Vec<Entry<H>>> {
        // A panic elsewhere cannot leave the list half-updated: every
        // change is one push, one field write or one removal.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes a slot for a new connection from `peer`, idle from `now`,
    /// evicting the longest-idle connection when every slot is taken.
    /// Returns the evicted connection's address, if any, for the log.
    pub fn admit(
        self: &Arc<Self>,
        peer: IpAddr,
        hangup: H,
        now: Instant,
    ) -> Result<(Ticket<H>, Option<IpAddr>), Refused> {
        let mut entries = self.lock();
        let mut evicted = None;
        if entries.len() >= MAX_CONNECTIONS {
            let oldest = entries
                .iter()
                .enumerate()
                .filter_map(|(i, e)| e.idle_since.map(|t| (t, i)))
                .min()
                .map(|(_, i)| i);
            let Some(i) = oldest else {
                return Err(Refused::Full);
            };
            let gone = entries.swap_remove(i);
            gone.hangup.hang_up();
            evicted = Some(gone.key);
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        entries.push(Entry {
            id,
            key: address_key(peer),
            idle_since: Some(now),
            closing: false,
            hangup,
        });
        let ticket = Ticket {
            registry: Arc::clone(self),
            id,
        };
        Ok((ticket, evicted))
    }

    /// Connections in the registry.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

impl<H: Hangup> Ticket<H> {
    /// Marks the connection busy: a request's first byte arrived. Refused
    /// when its address already has [`MAX_BUSY_PER_ADDRESS`] busy
    /// connections, or when it was evicted meanwhile.
    pub fn start_request(&self) -> Result<(), Refused> {
        let mut entries = self.registry.lock();
        let Some(pos) = entries.iter().position(|e| e.id == self.id) else {
            return Err(Refused::Evicted);
        };
        let Some(me) = entries.get(pos) else {
            return Err(Refused::Evicted);
        };
        if me.idle_since.is_none() {
            return Ok(());
        }
        let key = me.key;
        let busy = entries
            .iter()
            .filter(|e| e.key == key && e.idle_since.is_none() && !e.closing)
            .count();
        if busy >= MAX_BUSY_PER_ADDRESS {
            return Err(Refused::AddressBusy);
        }
        if let Some(me) = entries.get_mut(pos) {
            me.idle_since = None;
        }
        Ok(())
    }

    /// The request in flight is answered last: the connection closes
    /// after the answer, which is not evicted meanwhile, and no longer
    /// counts against its address's [`MAX_BUSY_PER_ADDRESS`].
    pub fn finish_last_request(&self) {
        let mut entries = self.registry.lock();
        if let Some(me) = entries.iter_mut().find(|e| e.id == self.id) {
            me.closing = true;
        }
    }

    /// Marks the connection idle from `now`: it waits for another request
    /// and may be evicted for a new connection.
    pub fn finish_request(&self, now: Instant) {
        let mut entries = self.registry.lock();
        if let Some(me) = entries.iter_mut().find(|e| e.id == self.id) {
            me.idle_since = Some(now);
        }
    }
}

impl<H: Hangup> Drop for Ticket<H> {
    fn drop(&mut self) {
        let mut entries = self.registry.lock();
        if let Some(pos) = entries.iter().position(|e| e.id == self.id) {
            entries.swap_remove(pos);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    /// Records whether the registry hung it up. No sockets: the addresses
    /// below are only keys (192.0.2.0/24 and 2001:db8::/32 are reserved
    /// for documentation), nothing connects to them.
    #[derive(Clone, Default)]
    struct Probe(Arc<AtomicBool>);

    impl Hangup for Probe {
        fn hang_up(&self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    impl Probe {
        fn hung_up(&self) -> bool {
            self.0.load(Ordering::SeqCst)
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn admit(
        r: &Arc<Registry<Probe>>,
        peer: &str,
        at: Instant,
    ) -> Result<(Ticket<Probe>, Probe), Refused> {
        let probe = Probe::default();
        r.admit(ip(peer), probe.clone(), at)
            .map(|(t, _)| (t, probe))
    }

    #[test]
    fn a_full_registry_evicts_the_longest_idle_connection() {
        let r = Arc::new(Registry::<Probe>::default());
        let t0 = Instant::now();
        let mut held = Vec::new();
        for i in 0..MAX_CONNECTIONS {
            let at = t0 + Duration::from_millis(i as u64 + 10);
            held.push(admit(&r, &format!("192.0.2.{}", i % 4), at).unwrap());
        }
        // The very first one turns busy; the second is now the longest idle.
        held[0].0.start_request().unwrap();
        let (_new, _) = admit(&r, "192.0.2.200", t0 + Duration::from_secs(1)).unwrap();
        assert_eq!(r.len(), MAX_CONNECTIONS);
        assert!(!held[0].1.hung_up(), "a busy connection was evicted");
        assert!(held[1].1.hung_up(), "the longest idle one was not evicted");
        assert!(held[2..].iter().all(|(_, p)| !p.hung_up()));
        // The evicted connection learns it when it tries to work.
        assert_eq!(held[1].0.start_request(), Err(Refused::Evicted));
    }

    #[test]
    fn a_registry_of_busy_connections_refuses_and_recovers() {
        let r = Arc::new(Registry::<Probe>::default());
        let t0 = Instant::now();
        let mut held: Vec<_> = (0..MAX_CONNECTIONS)
            .map(|i| admit(&r, &format!("2001:db8:{i:x}::1"), t0).unwrap())
            .collect();
        for (t, _) in &held {
            t.start_request().unwrap();
        }
        assert!(matches!(admit(&r, "192.0.2.9", t0), Err(Refused::Full)));
        // A finished request makes its connection the one to give way.
        held[7].0.finish_request(t0 + Duration::from_secs(2));
        let (_new, _) = admit(&r, "192.0.2.9", t0).unwrap();
        assert!(held[7].1.hung_up());
        // Dropping a ticket frees its slot without evicting anyone.
        held.truncate(10);
        let (_another, probe) = admit(&r, "192.0.2.10", t0).unwrap();
        assert!(!probe.hung_up());
        assert!(held.iter().filter(|(_, p)| p.hung_up()).count() == 1);
    }

    #[test]
    fn busy_connections_are_capped_per_address_idle_ones_are_not() {
        let r = Arc::new(Registry::<Probe>::default());
        let t0 = Instant::now();
        // An IPv6 /64 is one address; so is an IPv4 address seen mapped.
        let peers = ["2001:db8:1:2::a", "2001:db8:1:2:ffff::b"];
        let held: Vec<_> = (0..MAX_BUSY_PER_ADDRESS + 3)
            .map(|i| admit(&r, peers[i % 2], t0).unwrap())
            .collect();
        for (t, _) in held.iter().take(MAX_BUSY_PER_ADDRESS) {
            t.start_request().unwrap();
        }
        for (t, _) in held.iter().skip(MAX_BUSY_PER_ADDRESS) {
            assert_eq!(t.start_request(), Err(Refused::AddressBusy));
        }
        // Another address is not affected.
        let (other, _) = admit(&r, "2001:db8:1:3::a", t0).unwrap();
        other.start_request().unwrap();
        // One request finishing lets the next one from that address start.
        held[0].0.finish_request(t0);
        held[MAX_BUSY_PER_ADDRESS].0.start_request().unwrap();
        // Marking a busy connection busy again is not a second request.
        held[MAX_BUSY_PER_ADDRESS].0.start_request().unwrap();
    }

    #[test]
    fn a_closing_connection_leaves_its_address_room_but_is_not_evicted() {
        let r = Arc::new(Registry::<Probe>::default());
        let t0 = Instant::now();
        let held: Vec<_> = (0..MAX_BUSY_PER_ADDRESS)
            .map(|_| admit(&r, "192.0.2.1", t0).unwrap())
            .collect();
        for (t, _) in &held {
            t.start_request().unwrap();
        }
        let (next, _) = admit(&r, "192.0.2.1", t0).unwrap();
        assert_eq!(next.start_request(), Err(Refused::AddressBusy));
        // One is writing its last answer: the client's new connection
        // (it read the answer and reconnected) may start its request.
        held[0].0.finish_last_request();
        next.start_request().unwrap();
        // Filling the registry evicts idle connections only, never it.
        let mut more = Vec::new();
        while r.len() < MAX_CONNECTIONS {
            let peer = format!("2001:db8:{:x}::1", more.len());
            more.push(admit(&r, &peer, t0 + Duration::from_secs(1)).unwrap());
        }
        for (t, _) in &more {
            t.start_request().unwrap();
        }
        assert!(matches!(admit(&r, "192.0.2.9", t0), Err(Refused::Full)));
        assert!(!held[0].1.hung_up());
    }

    #[test]
    fn address_keys_merge_mapped_ipv4_and_ipv6_slash_64() {
        assert_eq!(address_key(ip("::ffff:127.0.0.1")), ip("127.0.0.1"));
        assert_eq!(address_key(ip("192.0.2.7")), ip("192.0.2.7"));
        assert_eq!(
            address_key(ip("2001:db8:1:2:3:4:5:6")),
            ip("2001:db8:1:2::")
        );
        assert_eq!(address_key(ip("::1")), ip("::"));
        assert_ne!(address_key(ip("::1")), address_key(ip("127.0.0.1")));
    }
}
