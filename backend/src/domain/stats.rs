//! The numbers behind the pages' charts: requests per week across the catalog, and one
//! product's access week by week. The store hands over small aggregates; these functions
//! put them into weeks (Monday to Sunday, UTC), ending with the current week.

use time::{Date, Duration, OffsetDateTime};

use super::RequestStatus;

/// One access request of a product, as much of it as its timeline needs.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestSpan {
    pub status: RequestStatus,
    pub created_at: OffsetDateTime,
    /// The last change: for revoked or expired requests, when access ended.
    pub updated_at: OffsetDateTime,
    pub requested_until: OffsetDateTime,
}

impl RequestSpan {
    /// The days this request held access (grants applied), if it ever did.
    fn access_days(&self, today: Date) -> Option<(Date, Date)> {
        let end = match self.status {
            RequestStatus::Granted | RequestStatus::Revoking => {
                self.requested_until.date().min(today)
            }
            RequestStatus::Revoked | RequestStatus::Expired => self.updated_at.date(),
            _ => return None,
        };
        Some((self.created_at.date(), end.max(self.created_at.date())))
    }
}

/// The Monday that starts the week `day` is in.
pub fn week_start(day: Date) -> Date {
    day - Duration::days(i64::from(day.weekday().number_days_from_monday()))
}

/// The starts of the last `weeks` weeks, oldest first, the current week last.
pub fn recent_weeks(today: Date, weeks: usize) -> Vec<Date> {
    let this_week = week_start(today);
    (0..weeks)
        .rev()
        .map(|back| this_week - Duration::weeks(back as i64))
        .collect()
}

/// Per-day counts summed into the last `weeks` weeks (days outside them are ignored).
pub fn per_week(days: &[(Date, i64)], today: Date, weeks: usize) -> Vec<(Date, i64)> {
    recent_weeks(today, weeks)
        .into_iter()
        .map(|start| {
            let end = start + Duration::days(7);
            let count = days
                .iter()
                .filter(|(day, _)| *day >= start && *day < end)
                .map(|(_, n)| n)
                .sum();
            (start, count)
        })
        .collect()
}

/// One week of a product's access timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessWeek {
    pub week: Date,
    /// Requests made that week.
    pub requested: i64,
    /// Requests that held access at some point that week.
    pub with_access: i64,
}

/// A product's last `weeks` weeks: requests made, and requests holding access.
pub fn access_weeks(spans: &[RequestSpan], today: Date, weeks: usize) -> Vec<AccessWeek> {
    recent_weeks(today, weeks)
        .into_iter()
        .map(|week| {
            let last_day = week + Duration::days(6);
            let in_week = |day: Date| day >= week && day <= last_day;
            AccessWeek {
                week,
                requested: spans
                    .iter()
                    .filter(|s| in_week(s.created_at.date()))
                    .count() as i64,
                with_access: spans
                    .iter()
                    .filter_map(|s| s.access_days(today))
                    .filter(|(from, to)| *from <= last_day && *to >= week)
                    .count() as i64,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn weeks_start_on_monday_and_end_with_the_current_one() {
        // 2026-11-22 is a Sunday.
        assert_eq!(week_start(date!(2026 - 11 - 22)), date!(2026 - 11 - 16));
        assert_eq!(week_start(date!(2026 - 11 - 16)), date!(2026 - 11 - 16));
        assert_eq!(
            recent_weeks(date!(2026 - 11 - 22), 3),
            vec![
                date!(2026 - 11 - 02),
                date!(2026 - 11 - 09),
                date!(2026 - 11 - 16)
            ]
        );
    }

    #[test]
    fn days_are_summed_into_their_weeks_and_older_days_dropped() {
        let days = [
            (date!(2026 - 10 - 01), 9), // before the window
            (date!(2026 - 11 - 09), 2),
            (date!(2026 - 11 - 15), 1), // Sunday: still the week of the 9th
            (date!(2026 - 11 - 16), 4),
        ];
        assert_eq!(
            per_week(&days, date!(2026 - 11 - 22), 3),
            vec![
                (date!(2026 - 11 - 02), 0),
                (date!(2026 - 11 - 09), 3),
                (date!(2026 - 11 - 16), 4)
            ]
        );
    }

    fn span(
        status: RequestStatus,
        created: OffsetDateTime,
        updated: OffsetDateTime,
    ) -> RequestSpan {
        RequestSpan {
            status,
            created_at: created,
            updated_at: updated,
            requested_until: datetime!(2027-01-31 0:00 UTC),
        }
    }

    #[test]
    fn access_counts_the_weeks_a_request_held_it() {
        let today = date!(2026 - 11 - 22);
        let spans = [
            // Granted two weeks ago and still held.
            span(
                RequestStatus::Granted,
                datetime!(2026-11-03 10:00 UTC),
                datetime!(2026-11-03 10:01 UTC),
            ),
            // Granted and revoked within the week of the 9th.
            span(
                RequestStatus::Revoked,
                datetime!(2026-11-10 9:00 UTC),
                datetime!(2026-11-12 9:00 UTC),
            ),
            // Rejected: asked, never held.
            span(
                RequestStatus::Rejected,
                datetime!(2026-11-17 9:00 UTC),
                datetime!(2026-11-17 9:30 UTC),
            ),
        ];
        let weeks = access_weeks(&spans, today, 3);
        let rows: Vec<_> = weeks.iter().map(|w| (w.requested, w.with_access)).collect();
        assert_eq!(rows, vec![(1, 1), (1, 2), (1, 1)]);
    }
}
