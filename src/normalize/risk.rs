//! Entra ID Protection risk detections: Graph `riskDetection`, the Azure Monitor
//! `UserRiskEvents` export and Log Analytics `AADUserRiskEvents`.

use super::raw::{first, Raw, Record};
use super::{
    canonical_ip, done, invalid, owned, parse_time, synthesized_id, Normalized, Rejection,
};
use crate::event::{Event, RiskDetection, Shape};

/// A risk detection record.
pub fn risk_detection<P>(
    record: &Raw<P>,
    shape: Shape,
    envelope: Option<&Record>,
    text: &str,
) -> Normalized {
    done(read(record, shape, envelope, text).map(Event::RiskDetection))
}

fn read<P>(
    record: &Raw<P>,
    shape: Shape,
    envelope: Option<&Record>,
    text: &str,
) -> Result<RiskDetection, Rejection> {
    let risk_type = first(&[&record.risk_event_type, &record.risk_type])
        .ok_or_else(|| invalid("missing riskEventType (or riskType)".into()))?;
    let time = parse_time(
        &[
            &record.detected_date_time,
            &record.activity_date_time,
            &record.time_generated,
            envelope.map_or(&None, |e| &e.time),
        ],
        "a risk detection",
        "detectedDateTime, activityDateTime, TimeGenerated or time",
    )?;
    let user = first(&[&record.user_principal_name])
        .ok_or_else(|| invalid("missing user (userPrincipalName)".into()))?;
    Ok(RiskDetection {
        time,
        id: first(&[&record.id]).map_or_else(|| synthesized_id(text), str::to_owned),
        shape,
        risk_type: risk_type.to_owned(),
        risk_level: first(&[&record.risk_level]).unwrap_or("").to_lowercase(),
        user: user.to_lowercase(),
        ip: first(&[&record.ip_address]).and_then(canonical_ip),
        tenant_id: owned(first(&[
            &record.aad_tenant_id,
            envelope.map_or(&None, |e| &e.tenant_id),
            &record.tenant_id,
        ])),
    })
}
