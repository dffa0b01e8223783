//! Entra ID Protection risk detections: Graph `riskDetection`, the Azure Monitor
//! `UserRiskEvents` export and Log Analytics `AADUserRiskEvents`.

use super::raw::{first, Raw, Record};
use super::{canonical_ip, invalid, owned, parse_time, synthesized_id, Normalized};
use crate::event::{Event, RiskDetection, Shape};

/// A risk detection record.
pub fn risk_detection<P>(
    record: &Raw<P>,
    shape: Shape,
    envelope: Option<&Record>,
    text: &str,
) -> Normalized {
    let Some(risk_type) = first(&[&record.risk_event_type]) else {
        return Normalized::Rejected(invalid("missing riskEventType".into()));
    };
    let time = match parse_time(
        first(&[
            &record.detected_date_time,
            &record.activity_date_time,
            &record.la_time_generated,
            envelope.map_or(&None, |e| &e.time),
        ]),
        "detectedDateTime",
    ) {
        Ok(time) => time,
        Err(rejection) => return Normalized::Rejected(rejection),
    };
    let Some(user) = first(&[&record.user_principal_name, &record.la_user_principal_name]) else {
        return Normalized::Rejected(invalid("missing user (userPrincipalName)".into()));
    };
    Normalized::Event(Event::RiskDetection(RiskDetection {
        time,
        id: first(&[&record.id, &record.la_id]).map_or_else(|| synthesized_id(text), str::to_owned),
        shape,
        risk_type: risk_type.to_owned(),
        risk_level: first(&[&record.risk_level]).unwrap_or("").to_lowercase(),
        user: user.to_lowercase(),
        ip: first(&[&record.ip_address, &record.la_ip_address_risk]).and_then(canonical_ip),
        tenant_id: owned(first(&[
            envelope.map_or(&None, |e| &e.tenant_id),
            &record.la_tenant_id,
        ])),
    }))
}
