//! The messaging window: WhatsApp and Instagram let a business send free-form messages only
//! for a while after the customer last wrote; outside it only templates may be sent.

use chrono::{DateTime, Duration, Utc};

use crate::conversation::Channel;

/// Where a conversation stands with its channel's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowState {
    /// Free-form messages may be sent until `expires_at`.
    Open,
    /// Only templates may be sent until the customer writes again.
    Closed,
    /// The channel has no window (e-mail, the API channel).
    Unlimited,
}

impl WindowState {
    /// The name the API shows.
    pub fn as_str(self) -> &'static str {
        match self {
            WindowState::Open => "open",
            WindowState::Closed => "closed",
            WindowState::Unlimited => "none",
        }
    }
}

/// A conversation's messaging window at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessagingWindow {
    /// Open, closed or none.
    pub state: WindowState,
    /// When it closes (or closed); none for channels without a window or before the
    /// customer ever wrote.
    pub expires_at: Option<DateTime<Utc>>,
}

impl MessagingWindow {
    /// The providers' window length for a channel: 24 hours for WhatsApp and Instagram, none
    /// for e-mail and the API channel.
    pub fn default_length(channel: Channel) -> Option<Duration> {
        match channel {
            Channel::Whatsapp | Channel::Instagram => Some(Duration::hours(24)),
            Channel::Email | Channel::Api => None,
        }
    }

    /// The window of length `length` (none: no window) given when the customer last wrote.
    pub fn at(length: Option<Duration>, last_inbound_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Self {
        let Some(length) = length else {
            return Self {
                state: WindowState::Unlimited,
                expires_at: None,
            };
        };
        let expires_at = last_inbound_at.map(|at| at + length);
        let state = match expires_at {
            Some(until) if until > now => WindowState::Open,
            _ => WindowState::Closed,
        };
        Self { state, expires_at }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hours_ago: i64) -> Option<DateTime<Utc>> {
        Some(Utc::now() - Duration::hours(hours_ago))
    }

    #[test]
    fn whatsapp_is_open_for_a_day_after_the_customer_wrote() {
        let length = MessagingWindow::default_length(Channel::Whatsapp);
        let open = MessagingWindow::at(length, at(23), Utc::now());
        assert_eq!(open.state, WindowState::Open);
        assert!(open.expires_at.unwrap() > Utc::now());
        assert_eq!(
            MessagingWindow::at(length, at(25), Utc::now()).state,
            WindowState::Closed
        );
    }

    #[test]
    fn a_window_is_closed_until_the_customer_ever_writes() {
        let length = MessagingWindow::default_length(Channel::Instagram);
        let never = MessagingWindow::at(length, None, Utc::now());
        assert_eq!((never.state, never.expires_at), (WindowState::Closed, None));
    }

    #[test]
    fn email_and_api_have_no_window() {
        for channel in [Channel::Email, Channel::Api] {
            let window = MessagingWindow::at(MessagingWindow::default_length(channel), at(1000), Utc::now());
            assert_eq!(window.state, WindowState::Unlimited);
            assert_eq!(window.state.as_str(), "none");
        }
    }
}
