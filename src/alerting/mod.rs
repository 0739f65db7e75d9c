//! Local alerting (alerts-and-webhooks Part B): events in, alerts out,
//! delivered to Custom Webhooks.
//!
//! [`input`] reads events, [`group`] turns matches into alerts,
//! [`payload`] builds the webhook body, [`dest`] expands and routes
//! destinations, [`delivery`] plans the deliveries, [`deliver`] sends, [`log`] keeps the delivery log,
//! [`replay`] evaluates detections and correlation rules over events. The
//! commands `run` and `alerts` wire them together.

pub mod deliver;
pub mod delivery;
pub mod dest;
pub mod group;
pub mod input;
pub mod log;
pub mod payload;
pub mod replay;
pub mod time;
