//! Background jobs that every instance runs, run at the same moment from several connections (a barrier, not
//! sleeps): each transition is applied once, each feed position spent once, each snapshot row written once.

use crate::harness;
use crate::harness::TestApp;
use diesel::prelude::*;
use serde_json::json;

async fn feed_position(app: &TestApp) -> i64 {
    app.count("SELECT seq AS n FROM feed_state").await
}

both_backends! {
    async fn scheduled_transitions_are_applied_once_by_instances_ticking_together(app: TestApp) {
        let org = app.organisation().await;
        let now = chrono::Utc::now();
        let mut ids = Vec::new();
        for n in 0..3 {
            let body = json!({
                "title": format!("Lịch họp {n}"), "kind": "thong_bao", "section": "", "body": "x", "audience": {"all": true},
                "publish_at": (now + chrono::Duration::hours(1)).to_rfc3339(),
                "expires_at": (now + chrono::Duration::hours(2)).to_rfc3339(),
            });
            let id = app.post_as(&org.admin, "/api/v1/admin/documents", &body).await.json()["id"].as_str().unwrap().to_owned();
            let published = app.post_as(&org.admin, &format!("/api/v1/admin/documents/{id}/publish"), &json!({})).await;
            assert_eq!(published.json()["status"], "scheduled");
            ids.push(id);
        }
        for (minutes, state) in [(61, "visible"), (121, "expired")] {
            let before = feed_position(&app).await;
            let at = (now + chrono::Duration::minutes(minutes)).naive_utc();
            let changed: usize =
                harness::at_once(&app, |_, conn| handbook::content::schedule::run_due(conn, at).expect("run_due")).into_iter().sum();
            assert_eq!(changed, ids.len(), "each document changed state exactly once ({state})");
            assert_eq!(feed_position(&app).await - before, ids.len() as i64, "one feed position per transition ({state})");
            let rows: Vec<(String, i64)> = app
                .db()
                .run(|conn| {
                    use handbook::db::schema::documents as d;
                    Ok(d::table.select((d::live_state, d::feed_seq)).order(d::feed_seq).load(conn)?)
                })
                .await
                .unwrap();
            let positions: Vec<i64> = rows.iter().map(|(_, seq)| *seq).collect();
            assert!(rows.iter().all(|(s, _)| s == state), "{rows:?}");
            assert_eq!(positions, ((before + 1)..=(before + ids.len() as i64)).collect::<Vec<_>>());
        }
    }

    async fn the_coverage_snapshot_and_refresh_run_together_write_once(app: TestApp) {
        let org = app.organisation().await;
        let device = harness::SyncClient::register(&app, &org.member_hk).await;
        drop(device);
        let at = chrono::Utc::now().naive_utc();
        for outcome in harness::at_once(&app, |_, conn| handbook::coverage::report::snapshot(conn, at)) {
            assert_eq!(outcome.expect("every instance's snapshot succeeds"), 2);
        }
        assert_eq!(app.count("SELECT count(*) AS n FROM coverage_history").await, 2, "one row per committee per day");
        for outcome in harness::at_once(&app, |_, conn| handbook::coverage::counters::refresh_moving(conn, at)) {
            outcome.expect("every instance's refresh succeeds");
        }
        let totals = app.count("SELECT CAST(installed * 1000 + active_30d AS BIGINT) AS n FROM coverage_counts WHERE committee_code = 'HK' AND unit = ''").await;
        assert_eq!(totals, 1001, "installed 1, active 1: not moved twice");
        let history = app.count("SELECT CAST(installed * 1000 + eligible AS BIGINT) AS n FROM coverage_history WHERE committee_code = 'HK'").await;
        assert_eq!(history, 1002);
    }
}
