//! Server-rendered SVG charts, no JavaScript: the geometry is worked out here and askama
//! draws it (`partials/chart.html`). Every chart carries a title and a one-sentence
//! description for assistive technology, and its numbers as a table people can open.

use askama::Template;
use time::Date;

use crate::domain::stats::AccessWeek;

/// The drawing's width: about its width on a phone, so text keeps its size there.
const WIDTH: f64 = 360.0;

#[derive(Template)]
#[template(path = "partials/chart.html")]
pub struct Chart {
    /// Unique on the page: the SVG's title and description hang off it.
    pub id: &'static str,
    pub title: String,
    /// What the chart shows, in words (the SVG's `<desc>` and the caption).
    pub summary: String,
    pub width: f64,
    pub height: f64,
    pub bars: Vec<Bar>,
    pub labels: Vec<Label>,
    /// Legend entries: (CSS class of the series, its name); empty for one series.
    pub legend: Vec<(&'static str, &'static str)>,
    /// The numbers: column headings, then one row per bar or week.
    pub columns: Vec<&'static str>,
    pub rows: Vec<(String, Vec<i64>)>,
    /// Said instead of drawing a chart of nothing.
    pub empty: Option<&'static str>,
}

pub struct Bar {
    pub x: String,
    pub y: String,
    pub w: String,
    pub h: String,
    pub class: &'static str,
}

pub struct Label {
    pub x: String,
    pub y: String,
    pub text: String,
    pub anchor: &'static str,
}

fn n(value: f64) -> String {
    format!("{value:.1}")
}

fn label(x: f64, y: f64, text: impl Into<String>, anchor: &'static str) -> Label {
    Label {
        x: n(x),
        y: n(y),
        text: text.into(),
        anchor,
    }
}

fn plural(count: i64, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

fn short_date(day: Date) -> String {
    format!("{} {}", day.day(), &day.month().to_string()[..3])
}

/// Horizontal bars, one per named row (products per domain).
pub fn horizontal_bars(id: &'static str, title: &str, rows: Vec<(String, i64)>) -> Chart {
    const ROW: f64 = 26.0;
    const LABEL_W: f64 = 100.0;
    const VALUE_W: f64 = 30.0;
    let max = rows.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1) as f64;
    let plot = WIDTH - LABEL_W - VALUE_W;
    let mut bars = Vec::new();
    let mut labels = Vec::new();
    for (i, (name, value)) in rows.iter().enumerate() {
        let y = i as f64 * ROW + 4.0;
        let w = (*value as f64 / max * plot).max(if *value > 0 { 2.0 } else { 0.0 });
        bars.push(Bar {
            x: n(LABEL_W),
            y: n(y),
            w: n(w),
            h: n(ROW - 10.0),
            class: "chart-bar",
        });
        let shown: String = name.chars().take(14).collect();
        labels.push(label(LABEL_W - 8.0, y + 14.0, shown, "end"));
        labels.push(label(
            LABEL_W + w + 6.0,
            y + 14.0,
            value.to_string(),
            "start",
        ));
    }
    let total: i64 = rows.iter().map(|(_, v)| v).sum();
    let summary = match rows.first() {
        None => "No domains yet.".to_owned(),
        Some((top, count)) => format!(
            "{} in {}; the most in {top} ({count}).",
            plural(total, "product"),
            plural(rows.len() as i64, "domain")
        ),
    };
    Chart {
        id,
        title: title.to_owned(),
        summary,
        width: WIDTH,
        height: rows.len().max(1) as f64 * ROW + 8.0,
        bars,
        labels,
        legend: Vec::new(),
        columns: vec!["Domain", "Products"],
        empty: rows.is_empty().then_some("No domains yet."),
        rows: rows.into_iter().map(|(name, v)| (name, vec![v])).collect(),
    }
}

/// Columns per week, one or more series side by side.
fn weekly_columns(
    id: &'static str,
    title: &str,
    summary: String,
    weeks: &[Date],
    series: &[(&'static str, &'static str, Vec<i64>)],
    empty: &'static str,
) -> Chart {
    const HEIGHT: f64 = 150.0;
    const LEFT: f64 = 24.0;
    /// Room for the last week's label, centred under its bar.
    const RIGHT: f64 = 14.0;
    const BOTTOM: f64 = 22.0;
    const TOP: f64 = 10.0;
    let plot_h = HEIGHT - BOTTOM - TOP;
    let max_seen = series
        .iter()
        .flat_map(|(_, _, values)| values.iter().copied())
        .max()
        .unwrap_or(0);
    let max = max_seen.max(1) as f64;
    let group = (WIDTH - LEFT - RIGHT) / weeks.len().max(1) as f64;
    let bar_w = group * 0.7 / series.len().max(1) as f64;
    let mut bars = Vec::new();
    let mut labels = vec![
        label(LEFT - 6.0, TOP + 10.0, format!("{max}"), "end"),
        label(LEFT - 6.0, HEIGHT - BOTTOM, "0", "end"),
    ];
    for (w, week) in weeks.iter().enumerate() {
        let x0 = LEFT + w as f64 * group + group * 0.15;
        for (s, (class, _, values)) in series.iter().enumerate() {
            let value = values.get(w).copied().unwrap_or(0) as f64;
            let h = value / max * plot_h;
            bars.push(Bar {
                x: n(x0 + s as f64 * bar_w),
                y: n(HEIGHT - BOTTOM - h),
                w: n(bar_w),
                h: n(h),
                class,
            });
        }
        // Every other week is labelled, the current one always.
        if (weeks.len() - 1 - w).is_multiple_of(2) {
            labels.push(label(
                x0 + group * 0.35,
                HEIGHT - 6.0,
                short_date(*week),
                "middle",
            ));
        }
    }
    bars.push(Bar {
        x: n(LEFT),
        y: n(HEIGHT - BOTTOM),
        w: n(WIDTH - LEFT - RIGHT),
        h: n(1.0),
        class: "chart-axis",
    });
    let mut columns = vec!["Week of"];
    columns.extend(series.iter().map(|(_, name, _)| *name));
    let rows = weeks
        .iter()
        .enumerate()
        .map(|(w, week)| {
            let values = series.iter().map(|(_, _, v)| v[w]).collect();
            (week.to_string(), values)
        })
        .collect();
    Chart {
        id,
        title: title.to_owned(),
        summary,
        width: WIDTH,
        height: HEIGHT,
        bars,
        labels,
        legend: if series.len() > 1 {
            series
                .iter()
                .map(|(class, name, _)| (*class, *name))
                .collect()
        } else {
            Vec::new()
        },
        columns,
        rows,
        empty: (max_seen == 0).then_some(empty),
    }
}

/// Access requests made across the catalog, week by week.
pub fn requests_per_week(id: &'static str, weeks: &[(Date, i64)]) -> Chart {
    let total: i64 = weeks.iter().map(|(_, n)| n).sum();
    let this_week = weeks.last().map_or(0, |(_, n)| *n);
    let summary = format!(
        "{} in the last {} weeks, {this_week} this week.",
        plural(total, "access request"),
        weeks.len()
    );
    let days: Vec<Date> = weeks.iter().map(|(d, _)| *d).collect();
    let values = weeks.iter().map(|(_, n)| *n).collect();
    weekly_columns(
        id,
        "Access requests per week",
        summary,
        &days,
        &[("chart-bar", "Requests", values)],
        "No access requests in these weeks yet.",
    )
}

/// One product's requests and access, week by week.
pub fn access_timeline(id: &'static str, weeks: &[AccessWeek]) -> Chart {
    let requested: i64 = weeks.iter().map(|w| w.requested).sum();
    let now = weeks.last().map_or(0, |w| w.with_access);
    let summary = format!(
        "{} in the last {} weeks; {now} holding access this week.",
        plural(requested, "request"),
        weeks.len()
    );
    let days: Vec<Date> = weeks.iter().map(|w| w.week).collect();
    weekly_columns(
        id,
        "Access over the last weeks",
        summary,
        &days,
        &[
            (
                "chart-bar-light",
                "Requested",
                weeks.iter().map(|w| w.requested).collect(),
            ),
            (
                "chart-bar",
                "Holding access",
                weeks.iter().map(|w| w.with_access).collect(),
            ),
        ],
        "Nobody has asked for access in these weeks yet.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn the_longest_bar_fills_the_plot_and_others_scale() {
        let chart = horizontal_bars(
            "d",
            "Products per domain",
            vec![
                ("Sales".into(), 4),
                ("Finance".into(), 2),
                ("Empty".into(), 0),
            ],
        );
        let widths: Vec<&str> = chart.bars.iter().map(|b| b.w.as_str()).collect();
        assert_eq!(widths, vec!["230.0", "115.0", "0.0"]);
        assert_eq!(
            chart.summary,
            "6 products in 3 domains; the most in Sales (4)."
        );
        let html = chart.render().unwrap();
        assert!(html.contains(r#"role="img""#) && html.contains("<desc id=\"d-desc\">"));
        assert!(
            html.contains(r#"<th scope="row">Sales</th>"#),
            "the numbers as a table"
        );
    }

    #[test]
    fn weekly_columns_rise_with_their_counts_and_label_the_current_week() {
        let weeks = [(date!(2026 - 11 - 09), 1), (date!(2026 - 11 - 16), 3)];
        let chart = requests_per_week("r", &weeks);
        let heights: Vec<&str> = chart.bars.iter().map(|b| b.h.as_str()).collect();
        assert_eq!(
            heights,
            vec!["39.3", "118.0", "1.0"],
            "two weeks and the axis"
        );
        assert_eq!(chart.empty, None);
        let quiet = requests_per_week("q", &[(date!(2026 - 11 - 16), 0)]);
        assert_eq!(quiet.empty, Some("No access requests in these weeks yet."));
        assert!(
            !quiet.render().unwrap().contains("<svg"),
            "no chart of nothing"
        );
        assert!(chart.labels.iter().any(|l| l.text == "16 Nov"));
        assert_eq!(
            chart.summary,
            "4 access requests in the last 2 weeks, 3 this week."
        );
    }
}
