//! Unresolved failures: the input of the tenant-wide spray detectors.
//!
//! A spray-code failure is held for `resolve_within` (default 10 min) of event time. If the same
//! user proves a password correct in that time (the user's own typo, a stale password on a second
//! device being fixed), the failure is resolved and dropped; otherwise it is released as
//! unresolved. Benign failures almost always resolve within minutes; a spray's failures against
//! thousands of users almost never do (the real user would have to sign in within minutes of the
//! attempt). Trusted networks and service accounts never enter.

use std::collections::VecDeque;

use ahash::RandomState;
use hashbrown::HashMap;
use serde::{Deserialize, Serialize};

use super::Signal;
use crate::allowlist::Allowlist;
use crate::event::SignIn;
use crate::packed::Packed;
use crate::state::BoundedMap;
use crate::time::Timestamp;

/// A failure worth counting. Its strings are one allocation (failures are held by two detectors,
/// a spray's by the thousand), read through methods; [`FailureFields`] is its snapshot form.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "FailureFields", from = "FailureFields")]
pub struct Failure {
    /// When.
    pub time: Timestamp,
    /// Result code.
    pub code: u32,
    /// Autonomous system (from the log or the host's table).
    pub asn: Option<u32>,
    /// user, ip, user agent, app, network, id.
    strings: Packed<6>,
}

impl Failure {
    /// The signals a counted failure of a tenant-wide spray gives, each once while `signalled`
    /// remembers it (from `live_since`): its user as a target, and its IP as the spray's own
    /// address (the tenant-wide sprays count only IPs no user vouches for).
    pub fn signals_once(
        &self,
        signalled: &mut BoundedMap<Timestamp>,
        live_since: Timestamp,
        finding_uid: &str,
        out: &mut Vec<Signal>,
    ) {
        if signalled.insert_if_absent(self.user(), live_since, || self.time) {
            out.push(Signal::SprayTarget {
                user: self.user().to_owned(),
                ip: Some(self.ip().to_owned()),
                time: self.time,
                finding_uid: finding_uid.to_owned(),
            });
        }
        let address = signalled_address(self.ip());
        if signalled.insert_if_absent(&address, live_since, || self.time) {
            out.push(Signal::SprayAddress {
                ip: self.ip().to_owned(),
                time: self.time,
                finding_uid: finding_uid.to_owned(),
            });
        }
    }
}

/// The key under which [`Failure::signals_once`] remembers that it signalled `ip` as a spray's
/// own address (beside the users it signalled, in the same table).
pub fn signalled_address(ip: &str) -> String {
    format!("address {ip}")
}

/// The fields of a [`Failure`].
#[derive(Debug, Serialize, Deserialize)]
pub struct FailureFields {
    /// When.
    pub time: Timestamp,
    /// Who (lowercased UPN).
    pub user: Box<str>,
    /// From where.
    pub ip: Box<str>,
    /// Result code.
    pub code: u32,
    /// User agent.
    pub user_agent: Option<Box<str>>,
    /// Application.
    pub app: Option<Box<str>>,
    /// Autonomous system (from the log or the host's table).
    pub asn: Option<u32>,
    /// Network kind from the host's ASN table (`residential`, …).
    pub network: Option<Box<str>>,
    /// The sign-in id.
    pub id: Box<str>,
}

impl From<Failure> for FailureFields {
    fn from(failure: Failure) -> Self {
        FailureFields {
            time: failure.time,
            user: failure.user().into(),
            ip: failure.ip().into(),
            code: failure.code,
            user_agent: failure.user_agent().map(Into::into),
            app: failure.app().map(Into::into),
            asn: failure.asn,
            network: failure.network().map(Into::into),
            id: failure.id().into(),
        }
    }
}

impl From<FailureFields> for Failure {
    fn from(fields: FailureFields) -> Self {
        Failure {
            time: fields.time,
            code: fields.code,
            asn: fields.asn,
            strings: Packed::new([
                Some(&fields.user),
                Some(&fields.ip),
                fields.user_agent.as_deref(),
                fields.app.as_deref(),
                fields.network.as_deref(),
                Some(&fields.id),
            ]),
        }
    }
}

impl std::fmt::Debug for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        FailureFields::from(self.clone()).fmt(f)
    }
}

impl Failure {
    /// Who (lowercased UPN).
    pub fn user(&self) -> &str {
        self.strings.get(0).unwrap_or_default()
    }

    /// From where.
    pub fn ip(&self) -> &str {
        self.strings.get(1).unwrap_or_default()
    }

    /// User agent.
    pub fn user_agent(&self) -> Option<&str> {
        self.strings.get(2)
    }

    /// Application.
    pub fn app(&self) -> Option<&str> {
        self.strings.get(3)
    }

    /// Network kind from the host's ASN table (`residential`, …).
    pub fn network(&self) -> Option<&str> {
        self.strings.get(4)
    }

    /// The sign-in id.
    pub fn id(&self) -> &str {
        self.strings.get(5).unwrap_or_default()
    }
}

/// Holds failures until they resolve or are released.
///
/// A success is looked up only among the users with failures held (a few hundred in a large
/// tenant, so a small table that stays in the cache), never written into a table of every
/// user's last success (a random, uncached place for almost every sign-in of the tenant).
#[derive(Debug, Serialize, Deserialize)]
pub struct UnresolvedFailures {
    resolve_within: Timestamp,
    max_pending: usize,
    pending: VecDeque<Failure>,
    /// The users with failures held: how many, and their last password-proving sign-in since.
    #[serde(with = "sorted")]
    users: HashMap<Box<str>, Held, RandomState>,
    dropped: u64,
}

/// A user's failures held, and the last time since then the user proved a password.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct Held {
    failures: u32,
    success: Option<Timestamp>,
}

impl UnresolvedFailures {
    /// A holder resolving within `resolve_within`, holding at most `max_pending` failures.
    pub fn new(resolve_within: Timestamp, max_pending: usize, hasher: &RandomState) -> Self {
        UnresolvedFailures {
            resolve_within,
            max_pending: max_pending.max(1),
            pending: VecDeque::new(),
            users: HashMap::with_hasher(hasher.clone()),
            dropped: 0,
        }
    }

    /// Takes in a sign-in.
    pub fn observe(&mut self, signin: &SignIn, allowlist: &Allowlist) {
        if !signin.category.is_user() || allowlist.service_account(signin.user()) {
            return;
        }
        if signin.password_correct() {
            if let Some(held) = self.users.get_mut(signin.user()) {
                held.success = held.success.max(Some(signin.time));
            }
            return;
        }
        if !signin.is_spray_failure() {
            return;
        }
        let Some(ip) = signin.ip() else {
            return;
        };
        if allowlist.trusted_ip(ip) {
            return;
        }
        if self.pending.len() >= self.max_pending {
            self.pop_front();
            self.dropped += 1;
        }
        let table = allowlist.asn(ip);
        self.pending.push_back(Failure {
            time: signin.time,
            code: signin.result_code,
            asn: signin.asn.or(table.map(|(asn, _)| asn)),
            strings: Packed::new([
                Some(signin.user()),
                Some(ip),
                signin.user_agent(),
                signin.app_name().or(signin.app_id()),
                table.and_then(|(_, kind)| kind),
                Some(signin.id()),
            ]),
        });
        match self.users.get_mut(signin.user()) {
            Some(held) => held.failures += 1,
            None => {
                let held = Held {
                    failures: 1,
                    success: None,
                };
                self.users.insert(signin.user().into(), held);
            }
        }
    }

    /// The oldest failure held, and whether its user proved a password since.
    fn pop_front(&mut self) -> Option<(Failure, bool)> {
        let failure = self.pending.pop_front()?;
        let held = self.users.get_mut(failure.user()).map(|held| {
            held.failures = held.failures.saturating_sub(1);
            *held
        });
        if held.is_some_and(|held| held.failures == 0) {
            self.users.remove(failure.user());
        }
        let resolved = held
            .and_then(|held| held.success)
            .is_some_and(|success| success >= failure.time);
        Some((failure, resolved))
    }

    /// Moves, in time order, every failure whose resolution time has passed and that did not
    /// resolve onto the back of `window`, which keeps at most `cap` (the oldest go first).
    /// Returns how many were moved and how many old ones the cap pushed out.
    pub fn release_into(
        &mut self,
        watermark: Timestamp,
        window: &mut VecDeque<Failure>,
        cap: usize,
    ) -> (usize, u64) {
        let (mut moved, mut dropped) = (0, 0);
        while self
            .pending
            .front()
            .is_some_and(|failure| failure.time.saturating_add(self.resolve_within) < watermark)
        {
            // Released once the watermark passed the resolution time, so a success seen since
            // the failure lies (up to the sweep interval) within it.
            let Some((failure, resolved)) = self.pop_front() else {
                break;
            };
            if resolved {
                continue;
            }
            while window.len() >= cap.max(1) {
                window.pop_front();
                dropped += 1;
            }
            window.push_back(failure);
            moved += 1;
        }
        (moved, dropped)
    }

    /// Moves everything still held (end of input), resolving against what is known.
    pub fn release_all_into(&mut self, window: &mut VecDeque<Failure>, cap: usize) -> (usize, u64) {
        self.release_into(Timestamp::MAX, window, cap)
    }

    /// Failures held plus the users they are of.
    pub fn entries(&self) -> usize {
        self.pending.len() + self.users.len()
    }

    /// Seeds the table with `hasher` (after a restore).
    pub fn reseed(&mut self, hasher: &RandomState) {
        let mut users = HashMap::with_capacity_and_hasher(self.users.len(), hasher.clone());
        users.extend(self.users.drain());
        self.users = users;
    }

    /// Entries dropped because of a cap.
    pub fn evicted(&self) -> u64 {
        self.dropped
    }
}

/// The users table in a snapshot: sorted by user, so the same state writes the same bytes.
mod sorted {
    use super::{HashMap, Held, RandomState};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(
        users: &HashMap<Box<str>, Held, RandomState>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let mut sorted: Vec<(&str, &Held)> = users.iter().map(|(k, v)| (&**k, v)).collect();
        sorted.sort_unstable_by_key(|(user, _)| *user);
        sorted.serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<HashMap<Box<str>, Held, RandomState>, D::Error> {
        let users = Vec::<(Box<str>, Held)>::deserialize(deserializer)?;
        // A placeholder seed: the owner reseeds with the host's after a restore.
        let mut map = HashMap::with_hasher(crate::state::unseeded());
        map.extend(users);
        Ok(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::SignInFields;

    fn signin(user: &str, time: Timestamp, result_code: u32) -> SignIn {
        let id = format!("{user}-{time}");
        SignInFields {
            time,
            id: id.as_str(),
            user,
            result_code,
            ..crate::normalize::tests::sample()
        }
        .into()
    }

    fn released(held: &mut UnresolvedFailures, watermark: Timestamp) -> Vec<String> {
        let mut window = VecDeque::new();
        held.release_into(watermark, &mut window, 100);
        window
            .iter()
            .map(|failure| failure.id().to_owned())
            .collect()
    }

    #[test]
    fn a_later_success_of_the_same_user_resolves_only_the_failures_before_it() {
        let allowlist = Allowlist::default();
        let mut held = UnresolvedFailures::new(10, 100, &crate::state::hasher(1));
        // A success before any failure is not remembered: it resolves nothing later.
        held.observe(&signin("a@x", 0, 0), &allowlist);
        for (user, time, code) in [("a@x", 1, 50126), ("b@x", 2, 50126), ("a@x", 3, 0)] {
            held.observe(&signin(user, time, code), &allowlist);
        }
        held.observe(&signin("a@x", 4, 50126), &allowlist);
        assert_eq!(held.entries(), 3 + 2, "three failures of two users");
        assert_eq!(released(&mut held, 13), ["b@x-2"], "a@x-1 resolved at 3");
        assert_eq!(held.entries(), 1 + 1);
        assert_eq!(released(&mut held, 100), ["a@x-4"]);
        assert_eq!(held.entries(), 0, "no user is kept without failures");
    }

    #[test]
    fn a_saved_holder_reads_back_the_same() {
        let allowlist = Allowlist::default();
        let mut held = UnresolvedFailures::new(10, 100, &crate::state::hasher(1));
        for (user, time, code) in [("b@x", 1, 50126), ("a@x", 2, 50126), ("b@x", 3, 0)] {
            held.observe(&signin(user, time, code), &allowlist);
        }
        let saved = serde_json::to_value(&held).unwrap();
        let mut read: UnresolvedFailures = serde_json::from_value(saved.clone()).unwrap();
        read.reseed(&crate::state::hasher(2));
        assert_eq!(serde_json::to_value(&read).unwrap(), saved);
        assert_eq!(saved["users"][0][0], "a@x", "sorted by user");
        assert_eq!(released(&mut read, 100), ["a@x-2"]);
    }
}
