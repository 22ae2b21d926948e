//! Sign-in throttling, per account and per client address.
//!
//! After `max` failures inside the lock-out window, further attempts for that
//! account (or from that address) are refused until the window has passed,
//! without even checking the password. The counters live in memory on the
//! node that saw the attempts; with several nodes each counts its own, which
//! still caps a guesser at `max × nodes` tries per window.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
struct Window {
    failures: u32,
    started: Instant,
}

/// The throttle. One per server; shared by every request.
#[derive(Debug)]
pub struct LoginThrottle {
    accounts: Mutex<HashMap<String, Window>>,
    addresses: Mutex<HashMap<IpAddr, Window>>,
    max_per_account: u32,
    max_per_address: u32,
    window: Duration,
}

impl LoginThrottle {
    /// A throttle with the given limits.
    pub fn new(max_per_account: u32, max_per_address: u32, window: Duration) -> Self {
        Self { accounts: Mutex::default(), addresses: Mutex::default(), max_per_account, max_per_address, window }
    }

    /// `Err(seconds to wait)` if the account or the address is locked.
    pub fn check(&self, account: &str, address: IpAddr, now: Instant) -> Result<(), u64> {
        let wait = |w: Option<&Window>, max: u32| {
            w.filter(|w| w.failures >= max && now < w.started + self.window)
                .map(|w| (w.started + self.window - now).as_secs().max(1))
        };
        let accounts = self.accounts.lock().expect("no panics while the lock is held");
        if let Some(s) = wait(accounts.get(account), self.max_per_account) {
            return Err(s);
        }
        drop(accounts);
        let addresses = self.addresses.lock().expect("no panics while the lock is held");
        match wait(addresses.get(&address), self.max_per_address) {
            Some(s) => Err(s),
            None => Ok(()),
        }
    }

    /// Counts a failure.
    pub fn failed(&self, account: &str, address: IpAddr, now: Instant) {
        let bump = |w: &mut Window| {
            if now >= w.started + self.window {
                *w = Window { failures: 0, started: now };
            }
            w.failures += 1;
        };
        let fresh = Window { failures: 0, started: now };
        let mut accounts = self.accounts.lock().expect("no panics while the lock is held");
        prune(&mut accounts, now, self.window);
        bump(accounts.entry(account.to_owned()).or_insert(fresh));
        drop(accounts);
        let mut addresses = self.addresses.lock().expect("no panics while the lock is held");
        prune(&mut addresses, now, self.window);
        bump(addresses.entry(address).or_insert(fresh));
    }

    /// Clears the account's failures after a successful sign-in.
    pub fn succeeded(&self, account: &str) {
        self.accounts.lock().expect("no panics while the lock is held").remove(account);
    }
}

/// Keeps the maps from growing without bound under a spray of names.
fn prune<K>(map: &mut HashMap<K, Window>, now: Instant, window: Duration) {
    if map.len() > 10_000 {
        map.retain(|_, w| now < w.started + window);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_locks_after_max_failures_and_unlocks_after_the_window() {
        let t = LoginThrottle::new(3, 100, Duration::from_secs(900));
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(t.check("duty", ip, t0).is_ok());
            t.failed("duty", ip, t0);
        }
        assert_eq!(t.check("duty", ip, t0), Err(900));
        assert!(t.check("commander", ip, t0).is_ok(), "other accounts are not affected");
        assert!(t.check("duty", ip, t0 + Duration::from_secs(901)).is_ok());
    }

    #[test]
    fn an_address_spraying_many_accounts_is_locked() {
        let t = LoginThrottle::new(100, 5, Duration::from_secs(60));
        let ip: IpAddr = "10.0.0.9".parse().unwrap();
        let t0 = Instant::now();
        for i in 0..5 {
            t.failed(&format!("user{i}"), ip, t0);
        }
        assert!(t.check("someone-else", ip, t0).is_err());
        assert!(t.check("someone-else", "10.0.0.10".parse().unwrap(), t0).is_ok());
    }

    #[test]
    fn success_clears_the_account() {
        let t = LoginThrottle::new(2, 100, Duration::from_secs(60));
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let t0 = Instant::now();
        t.failed("duty", ip, t0);
        t.succeeded("duty");
        t.failed("duty", ip, t0);
        assert!(t.check("duty", ip, t0).is_ok());
    }
}
