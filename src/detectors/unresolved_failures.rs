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
use serde::{Deserialize, Serialize};

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
#[derive(Debug, Serialize, Deserialize)]
pub struct UnresolvedFailures {
    resolve_within: Timestamp,
    max_pending: usize,
    pending: VecDeque<Failure>,
    last_success: BoundedMap<Timestamp>,
    dropped: u64,
}

impl UnresolvedFailures {
    /// A holder resolving within `resolve_within`, holding at most `max_pending` failures and
    /// remembering the last success of at most `max_users` users.
    pub fn new(
        resolve_within: Timestamp,
        max_pending: usize,
        max_users: usize,
        hasher: &RandomState,
    ) -> Self {
        UnresolvedFailures {
            resolve_within,
            max_pending: max_pending.max(1),
            pending: VecDeque::new(),
            last_success: BoundedMap::new(max_users, hasher),
            dropped: 0,
        }
    }

    /// Takes in a sign-in.
    pub fn observe(&mut self, signin: &SignIn, watermark: Timestamp, allowlist: &Allowlist) {
        if !signin.category.is_user() || allowlist.service_account(signin.user()) {
            return;
        }
        if signin.password_correct() {
            let live_since = watermark.saturating_sub(self.resolve_within);
            let last = self
                .last_success
                .get_or_insert_with(signin.user(), live_since, || signin.time);
            *last = (*last).max(signin.time);
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
            self.pending.pop_front();
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
            let Some(failure) = self.pending.pop_front() else {
                break;
            };
            // Released once the watermark passed the resolution time, so a success seen since the
            // failure lies (up to the sweep interval) within it.
            let resolved = self
                .last_success
                .get(failure.user())
                .is_some_and(|success| *success >= failure.time);
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

    /// Failures held plus users remembered.
    pub fn entries(&self) -> usize {
        self.pending.len() + self.last_success.len()
    }

    /// Seeds the tables with `hasher` (after a restore).
    pub fn reseed(&mut self, hasher: &RandomState) {
        self.last_success.reseed(hasher);
    }

    /// Entries dropped because of a cap.
    pub fn evicted(&self) -> u64 {
        self.dropped + self.last_success.evicted()
    }
}
