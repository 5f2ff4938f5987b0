//! The coverage trend as an SVG line chart drawn on the server.

use chrono::NaiveDate;
use maud::{html, Markup};

use crate::coverage::report::HistoryPoint;

use super::layout::{day, number, percent};

/// Coverage over the days, as an SVG line chart drawn here (no script, no image request).
pub(super) fn trend_chart(points: &[HistoryPoint], subject: &str, snapshot_hour_utc: u32) -> Markup {
    if points.len() < 2 {
        return html! {
            p.empty {
                "Chưa đủ dữ liệu để vẽ xu hướng: cần số liệu của ít nhất hai ngày (đang có " (points.len())
                "). Số liệu được ghi tự động mỗi ngày một lần, khoảng "
                (format!("{:02}:00", (snapshot_hour_utc + 7) % 24))
                " (giờ Hà Nội), hoặc bằng lệnh " code { "handbook coverage snapshot" } "."
            }
        };
    }
    const WIDTH: f64 = 720.0;
    const HEIGHT: f64 = 240.0;
    const LEFT: f64 = 48.0;
    const RIGHT: f64 = 16.0;
    const TOP: f64 = 12.0;
    const BOTTOM: f64 = 28.0;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let first = points[0].date;
    let last = points[points.len() - 1].date;
    let span = (last - first).num_days().max(1) as f64;
    let highest = points.iter().map(|p| p.counts.coverage).fold(0.0, f64::max);
    let top_value = [0.1, 0.2, 0.25, 0.5, 1.0].into_iter().find(|v| *v >= highest).unwrap_or(1.0);
    let x = |date: NaiveDate| LEFT + (date - first).num_days() as f64 / span * plot_w;
    let y = |value: f64| TOP + plot_h * (1.0 - value.clamp(0.0, top_value) / top_value);
    let line: Vec<String> = points.iter().map(|p| format!("{:.1},{:.1}", x(p.date), y(p.counts.coverage))).collect();
    let grid = [0.0, top_value / 2.0, top_value];
    let thresholds: Vec<(f64, &str)> =
        [(0.5, "#d97706"), (0.8, "#16a34a")].into_iter().filter(|(v, _)| *v < top_value).collect();
    let last_point = &points[points.len() - 1];
    let description = format!(
        "Tỉ lệ cài đặt của {subject} từ {} đến {}: từ {} lên {}",
        day(first),
        day(last),
        percent(points[0].counts.coverage),
        percent(last_point.counts.coverage)
    );
    html! {
        figure.chart {
            svg viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) role="img" aria-label=(description)
                xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet" {
                title { (description) }
                @for value in grid {
                    line x1=(LEFT) x2=(WIDTH - RIGHT) y1=(format!("{:.1}", y(value))) y2=(format!("{:.1}", y(value)))
                        stroke="#d1d5db" stroke-width="1" {}
                    text x=(LEFT - 6.0) y=(format!("{:.1}", y(value) + 4.0)) text-anchor="end" font-size="11"
                        fill="#4b5563" { (percent(value)) }
                }
                @for (value, colour) in &thresholds {
                    line x1=(LEFT) x2=(WIDTH - RIGHT) y1=(format!("{:.1}", y(*value))) y2=(format!("{:.1}", y(*value)))
                        stroke=(colour) stroke-width="1" stroke-dasharray="4 4" {}
                }
                text x=(LEFT) y=(HEIGHT - 8.0) font-size="11" fill="#4b5563" { (day(first)) }
                text x=(WIDTH - RIGHT) y=(HEIGHT - 8.0) font-size="11" text-anchor="end" fill="#4b5563" { (day(last)) }
                polyline points=(line.join(" ")) fill="none" stroke="#1d4ed8" stroke-width="2.5"
                    stroke-linejoin="round" stroke-linecap="round" {}
                circle cx=(format!("{:.1}", x(last_point.date))) cy=(format!("{:.1}", y(last_point.counts.coverage)))
                    r="4" fill="#1d4ed8" {}
            }
            figcaption.muted {
                (description) "."
                @if !thresholds.is_empty() {
                    " Đường nét đứt: ngưỡng "
                    (thresholds.iter().map(|(v, _)| percent(*v)).collect::<Vec<_>>().join(" và ")) "."
                }
            }
            details {
                summary { "Xem số liệu từng ngày" }
                div.scroll tabindex="0" role="region" aria-label="Bảng số liệu xu hướng" {
                    table {
                        thead { tr { th scope="col" { "Ngày" } th.num scope="col" { "Đủ điều kiện" }
                            th.num scope="col" { "Đã cài đặt" } th.num scope="col" { "Tỉ lệ" } } }
                        tbody {
                            @for p in points.iter().rev() {
                                tr {
                                    td { (day(p.date)) }
                                    td.num { (number(p.counts.eligible)) }
                                    td.num { (number(p.counts.installed)) }
                                    td.num { (percent(p.counts.coverage)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
