//! Configuration: read once from JSON, validated into values that cannot be wrong.
//!
//! Every field has a default, so `{}` is a valid configuration. Unknown fields are errors, and
//! every error names the field (`detectors.password-spray.min_users: …`).
//!
//! The hash seed is not configuration: it is an argument of [`Engine::new`](crate::Engine::new)
//! and [`Engine::restore`](crate::Engine::restore), so that no engine can be built without one.
//! A configuration that still carries `seed` is refused with an error saying so.

use ahash::RandomState;
use serde::{Deserialize, Deserializer};

use crate::allowlist::{self, Allowlist};
use crate::detectors;
use crate::time::{self, MINUTE};
use crate::Error;

/// A span of event time in milliseconds; written in config as `"20m"`, `"24h"`, `"500ms"` or a
/// number of milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duration(pub i64);

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize, serde::Serialize)]
        #[serde(untagged)]
        enum Written {
            Millis(i64),
            Text(String),
        }
        let millis = match Written::deserialize(deserializer)? {
            Written::Millis(millis) => millis,
            Written::Text(text) => time::parse_duration(&text).ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "invalid duration {text:?}: write a number and a unit (ms, s, m, h, d), e.g. \"20m\""
                ))
            })?,
        };
        if millis <= 0 {
            return Err(serde::de::Error::custom("a duration must be positive"));
        }
        Ok(Duration(millis))
    }
}

impl serde::Serialize for Duration {
    /// Written back in the largest whole unit: `"14d"`, `"20m"`, `"500ms"`.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let units = [
            (time::DAY, "d"),
            (time::HOUR, "h"),
            (MINUTE, "m"),
            (1_000, "s"),
        ];
        let text = units
            .iter()
            .find(|(size, _)| self.0 % size == 0)
            .map_or_else(
                || format!("{}ms", self.0),
                |(size, unit)| format!("{}{unit}", self.0 / size),
            );
        serializer.serialize_str(&text)
    }
}

/// Hard caps on the engine's own state. Hitting one is counted in `stats`, never silent.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Events held back waiting for the watermark (to put them in time order).
    pub max_buffered_events: usize,
    /// Sign-in ids remembered to drop duplicates.
    pub max_dedup_ids: usize,
    /// An event this far after the latest event time is held rather than allowed to move the
    /// watermark on its own (a bogus timestamp would otherwise close every window early).
    pub max_time_jump: Duration,
    /// Held events that must agree before the stream is taken to have jumped forward.
    pub time_jump_confirmations: usize,
    /// Findings one detector keeps open (still gathering occurrences) at once; beyond it those
    /// idle longest are closed early, and counted.
    pub max_open_findings: Count,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_buffered_events: 1_000_000,
            max_dedup_ids: 1_000_000,
            max_time_jump: Duration(crate::time::DAY),
            time_jump_confirmations: 16,
            max_open_findings: Count::new(100_000),
        }
    }
}

/// Who a tenant's administrators are, learnt from the stream: an account that made administrative
/// changes (directory changes to others, role activations, Exchange admin cmdlets) on `days`
/// earlier days within `baseline` is a known administrator, and the findings of the admin
/// detectors for its changes are a level lower (see the README).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Administrators {
    /// Earlier days with administrative changes that make an account a known administrator
    /// (default 3).
    pub days: Count,
    /// How far back those days count (default `30d`, at most 63 days).
    pub baseline: Duration,
    /// Accounts whose days are remembered at once (default 10000).
    pub max_accounts: Count,
}

impl Default for Administrators {
    fn default() -> Self {
        Administrators {
            days: Count::new(3),
            baseline: Duration(30 * crate::time::DAY),
            max_accounts: Count::new(10_000),
        }
    }
}

/// How a stream that carries many tenants is kept apart.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Tenants {
    /// Most tenants held at once, each with its own windows, baselines and watermark (and every
    /// `limits` cap of its own); a new tenant beyond it closes the tenant idle longest.
    pub max: Count,
    /// The tenant that events naming none belong to (Graph API directory audits carry no tenant
    /// id: give yours here so they meet your sign-ins). Unset, they are watched apart.
    pub default: Option<String>,
    /// Tenants of one organisation watched as one (its test tenant and its production tenant,
    /// say): each list's tenants share a lane, named by its first, so the chain links an app
    /// made in one to the mail it reads in the other. Tenants not listed are watched apart.
    pub together: Vec<Vec<String>>,
    /// Link findings of different tenants that name the same application (an app made in one
    /// tenant reading another's mail) into a cross-tenant incident, which names each tenant and
    /// belongs to none (default on; each tenant's own incidents are unchanged either way).
    pub link_across: bool,
}

impl Default for Tenants {
    fn default() -> Self {
        Tenants {
            max: Count::new(1_000),
            default: None,
            together: Vec::new(),
            link_across: true,
        }
    }
}

impl Tenants {
    /// Each tenant listed in `together`, as lanes are keyed, and the tenant its lane is named by.
    pub fn lanes_together(&self) -> Result<Vec<(String, String)>, Error> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (n, group) in self.together.iter().enumerate() {
            let Some(first) = group.first() else {
                return Err(Error::InvalidConfig(format!(
                    "tenants.together[{n}]: an empty list (list the tenants watched as one)"
                )));
            };
            let name = crate::engine::tenant_key(first);
            for tenant in group {
                let key = crate::engine::tenant_key(tenant);
                if key.is_empty() {
                    return Err(Error::InvalidConfig(format!(
                        "tenants.together[{n}]: an empty tenant id"
                    )));
                }
                if pairs.iter().any(|(listed, _)| *listed == key) {
                    return Err(Error::InvalidConfig(format!(
                        "tenants.together[{n}]: {tenant} is listed twice"
                    )));
                }
                pairs.push((key, name.clone()));
            }
        }
        Ok(pairs)
    }
}

/// The engine's configuration.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// How late (in event time) an event may arrive and still be processed in time order. The
    /// watermark is the highest event time seen minus this.
    pub allowed_lateness: Duration,
    /// State caps (each tenant has its own).
    pub limits: Limits,
    /// Tenants kept apart.
    pub tenants: Tenants,
    /// Who the administrators are.
    pub administrators: Administrators,
    /// Allow-lists shared by every detector.
    pub allowlist: allowlist::Settings,
    /// The host's IP → ASN table (CIDR, ASN, network kind), for the spray detectors.
    pub asn_table: Vec<allowlist::AsnEntry>,
    /// Per-detector settings, keyed by detector id.
    pub detectors: detectors::Settings,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            allowed_lateness: Duration(5 * MINUTE),
            limits: Limits::default(),
            tenants: Tenants::default(),
            administrators: Administrators::default(),
            allowlist: allowlist::Settings::default(),
            asn_table: Vec::new(),
            detectors: detectors::Settings::default(),
        }
    }
}

impl Config {
    /// This configuration as JSON, every field written out (`Config::default()` gives the
    /// defaults: what a settings form starts from).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Reads and validates a configuration. An empty string means all defaults.
    pub fn from_json(text: &str) -> Result<Config, Error> {
        let text = if text.trim().is_empty() { "{}" } else { text };
        let deserializer = &mut serde_json::Deserializer::from_str(text);
        let config: Config = serde_path_to_error::deserialize(deserializer).map_err(|error| {
            let path = error.path().to_string();
            let inner = error.into_inner();
            if path == "seed" && inner.to_string().starts_with("unknown field `seed`") {
                Error::InvalidConfig(RETIRED_SEED.to_owned())
            } else if path == "." {
                Error::InvalidConfig(inner.to_string())
            } else {
                Error::InvalidConfig(format!("{path}: {inner}"))
            }
        })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), Error> {
        // The allow-lists are built here only to be checked: any hasher will do.
        self.allowlist(&crate::state::unseeded())?;
        positive(
            "limits.max_buffered_events",
            self.limits.max_buffered_events,
        )?;
        positive("limits.max_dedup_ids", self.limits.max_dedup_ids)?;
        self.tenants.lanes_together()?;
        let most = crate::detectors::kit::routine::MAX_DAYS * crate::time::DAY;
        if self.administrators.baseline.0 > most {
            return Err(Error::InvalidConfig(format!(
                "administrators.baseline: at most {}d",
                crate::detectors::kit::routine::MAX_DAYS
            )));
        }
        positive(
            "limits.time_jump_confirmations",
            self.limits.time_jump_confirmations,
        )?;
        self.detectors.validate()
    }

    /// The validated allow-lists, their sets hashed with `hasher` (the engine's seeded one).
    pub fn allowlist(&self, hasher: &RandomState) -> Result<Allowlist, Error> {
        Allowlist::new(&self.allowlist, &self.asn_table, hasher)
    }
}

/// A count or cap that is at least 1 (a cap of 0 would switch a detector off without a word):
/// written in config as a number; 0 is refused where it is read, with the field named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Count(std::num::NonZeroUsize);

impl Count {
    /// `n`, or 1 if `n` is 0 (for defaults, which are never 0).
    pub const fn new(n: usize) -> Count {
        match std::num::NonZeroUsize::new(n) {
            Some(n) => Count(n),
            None => Count(std::num::NonZeroUsize::MIN),
        }
    }

    /// The count.
    pub const fn get(self) -> usize {
        self.0.get()
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let n = usize::deserialize(deserializer)?;
        std::num::NonZeroUsize::new(n)
            .map(Count)
            .ok_or_else(|| serde::de::Error::custom("must be at least 1"))
    }
}

/// Why a configuration with `seed` is refused: the field moved out of the configuration.
const RETIRED_SEED: &str = "seed: the hash seed is no longer part of the configuration: it is \
    passed to create/restore (Engine::new and Engine::restore in Rust), and hosts draw a random \
    one (the CLI's --seed fixes it, to reproduce a run)";

/// Checks that a count is at least 1; the error names the field.
pub fn positive(field: &str, value: usize) -> Result<(), Error> {
    if value == 0 {
        return Err(Error::InvalidConfig(format!("{field}: must be at least 1")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        match Config::from_json(text) {
            Err(Error::InvalidConfig(message)) => message,
            other => format!("unexpected: {other:?}"),
        }
    }

    #[test]
    fn written_out_it_reads_back_the_same() {
        let defaults = Config::default();
        let text = defaults.to_json();
        assert!(text.contains(r#""window":"20m""#), "{text}");
        assert_eq!(Config::from_json(&text).ok(), Some(defaults));
        let tuned = Config::from_json(
            r#"{"allowed_lateness": "90s", "detectors": {"password-spray": {"min_users": 3, "window": 1500}},
                "allowlist": {"trusted_cidrs": ["10.0.0.0/8"]}}"#,
        )
        .unwrap();
        assert!(tuned.to_json().contains(r#""window":"1500ms""#));
        assert_eq!(Config::from_json(&tuned.to_json()).ok(), Some(tuned));
    }

    #[test]
    fn empty_is_defaults() {
        assert_eq!(Config::from_json("").ok(), Some(Config::default()));
        assert_eq!(Config::from_json("{}").ok(), Some(Config::default()));
    }

    #[test]
    fn administrators_look_back_at_most_63_days() {
        assert_eq!(
            error(r#"{"administrators": {"baseline": "64d"}}"#),
            "administrators.baseline: at most 63d"
        );
        let config = Config::from_json(r#"{"administrators": {"days": 5, "baseline": "63d"}}"#);
        assert_eq!(config.map(|c| c.administrators.days.get()).ok(), Some(5));
        assert!(error(r#"{"administrators": {"days": 0}}"#).starts_with("administrators.days"));
    }

    #[test]
    fn errors_name_the_field() {
        let message = error(r#"{"detectors": {"password-spray": {"min_user": 3}}}"#);
        assert!(
            message.starts_with("detectors.password-spray.min_user: unknown field `min_user`"),
            "{message}"
        );
        let message = error(r#"{"detectors": {"password-spray": {"window": "20x"}}}"#);
        assert!(
            message.starts_with("detectors.password-spray.window: invalid duration"),
            "{message}"
        );
        let message = error(r#"{"detectors": {"password-spray": {"min_users": 0}}}"#);
        assert!(
            message.starts_with("detectors.password-spray.min_users: must be at least 1"),
            "{message}"
        );
        // Every detector's settings are checked, the chain's too (it was once left out).
        let message = error(r#"{"detectors": {"attack-chain": {"max_entities": 0}}}"#);
        assert!(
            message.starts_with("detectors.attack-chain.max_entities: must be at least 1"),
            "{message}"
        );
        let message = error(r#"{"allowed_lateness": -5}"#);
        assert!(
            message.starts_with("allowed_lateness: a duration must be positive"),
            "{message}"
        );
        let message = error(r#"{"detectors": {"no-such-detector": {}}}"#);
        assert!(
            message.starts_with("detectors.no-such-detector: unknown field `no-such-detector`"),
            "{message}"
        );
        let message = error(r#"{"detectors": {"password-spray": {"severity": "urgent"}}}"#);
        assert!(
            message.starts_with("detectors.password-spray.severity: unknown variant"),
            "{message}"
        );
        assert!(error("[").contains("EOF"), "{}", error("["));
    }

    /// Every whole-number setting of every detector, and every limit, set to 0 is refused with
    /// its field named: a count or cap of 0 would switch detection off without a word.
    #[test]
    fn no_setting_can_be_zero() {
        let defaults: serde_json::Value =
            serde_json::from_str(&Config::default().to_json()).unwrap_or_default();
        let mut checked = 0;
        let mut paths = Vec::new();
        for (id, settings) in defaults["detectors"].as_object().into_iter().flatten() {
            for (field, value) in settings.as_object().into_iter().flatten() {
                if value.is_u64() {
                    paths.push((
                        format!("detectors.{id}.{field}"),
                        serde_json::json!({"detectors": {id: {field: 0}}}),
                    ));
                }
            }
        }
        for (field, value) in defaults["limits"].as_object().into_iter().flatten() {
            if value.is_u64() {
                paths.push((
                    format!("limits.{field}"),
                    serde_json::json!({"limits": {field: 0}}),
                ));
            }
        }
        for (path, config) in paths {
            let message = error(&config.to_string());
            assert!(
                message.starts_with(&format!("{path}: ")),
                "{path} = 0 gave {message}"
            );
            checked += 1;
        }
        assert!(checked > 30, "only {checked} settings checked");
    }

    #[test]
    fn a_seed_is_refused_and_the_error_says_where_it_went() {
        for text in [
            r#"{"seed": 7}"#,
            r#"{"seed": 0, "allowed_lateness": "2m"}"#,
            r#"{"allowed_lateness": "2m", "seed": "x"}"#,
        ] {
            let message = error(text);
            assert!(message.starts_with("seed: "), "{message}");
            assert!(message.contains("create/restore"), "{message}");
            assert!(message.contains("--seed"), "{message}");
        }
        assert!(!Config::default().to_json().contains("seed"));
    }

    #[test]
    fn durations_in_either_form() {
        let config = Config::from_json(r#"{"allowed_lateness": "2m"}"#).ok();
        assert_eq!(
            config.map(|c| c.allowed_lateness),
            Some(Duration(2 * MINUTE))
        );
        let config = Config::from_json(r#"{"allowed_lateness": 1000}"#).ok();
        assert_eq!(config.map(|c| c.allowed_lateness), Some(Duration(1000)));
    }
}
