//! The demo data set tells a campaign's story to whoever opens the console: devices up to date or behind, documents
//! in every status with several revisions by different staff, an audit trail in the order of time, officers who
//! can sign in — and all of it consistent with what the API serves (counters equal a recount, a member's device gets
//! exactly the documents visible to it).

use std::collections::{BTreeMap, BTreeSet};

use crate::coverage::{stored_and_recounted, up_to_date_against_a_recount};
use crate::harness::console::{assert_html_page, Console};
use crate::harness::{SyncClient, TestApp};

/// A query that answers one count.
async fn count(app: &TestApp, sql: &'static str) -> i64 {
    app.count(sql).await
}

both_backends! {
    async fn the_demo_data_tells_a_campaign_story(app: TestApp) {
        let now = handbook::time::now();
        let blobs = app.state.blobs.clone();
        let options = handbook::demo::Options { members: 3_000, documents: 80, audit: 6_000, seed: 5 };
        let loaded = app.db().run(move |conn| handbook::demo::load(conn, &blobs, &options, now)).await.unwrap();
        let password = loaded.staff_password.clone().expect("the demo staff were made, with a password to show");
        assert_eq!(loaded.documents, (76, 4), "80 documents: 76 published at least once, 4 drafts");
        assert_eq!(loaded.devices.eligible, 3_000);

        // Devices: most committees have members up to date, never more than installed, and the counters (all of
        // them) equal a recount.
        let up_to_date = up_to_date_against_a_recount(&app).await;
        let (counters, recount) = app
            .db()
            .run(move |conn| {
                use diesel::prelude::*;
                use handbook::db::schema::coverage_counts as cc;
                let stored: Vec<crate::coverage::StoredCounts> = cc::table
                    .select((cc::committee_code, cc::unit, cc::cell, cc::eligible, cc::activated, cc::installed, cc::active_30d, cc::devices))
                    .load(conn)?;
                Ok((stored, handbook::coverage::counters::full_count(conn, now)?))
            })
            .await
            .unwrap();
        let (actual, expected) = stored_and_recounted(counters, &recount);
        assert_eq!(actual, expected, "the counters equal a full recount");
        let installed: BTreeMap<&str, i64> =
            expected.iter().filter(|((_, unit, _), _)| unit.is_empty()).map(|((code, _, _), c)| (code.as_str(), c[2])).collect();
        for (code, installed) in &installed {
            let current = up_to_date.get(*code).copied().unwrap_or(0);
            assert!(current > 0 && current <= *installed, "{code}: {current} up to date of {installed} installed");
        }
        let share = up_to_date.values().sum::<i64>() as f64 / installed.values().sum::<i64>() as f64;
        assert!((0.4..0.9).contains(&share), "most devices are up to date, some behind: {share}");
        assert!(
            count(&app, "SELECT count(*) AS n FROM installations WHERE acked_seq IS NOT NULL AND (acked_at > last_seen_at OR acked_at < first_seen_at OR acked_seq > (SELECT seq FROM feed_state))").await == 0,
            "a device acknowledged a position that existed, while it was in use"
        );

        // Documents: every status, revisions by different staff, PDFs, some for one or two committees.
        for state in ["none", "scheduled", "visible", "expired", "withdrawn"] {
            let n = app
                .db()
                .run(move |conn| {
                    use diesel::prelude::*;
                    use handbook::db::schema::documents as d;
                    Ok(d::table.filter(d::live_state.eq(state)).count().get_result::<i64>(conn)?)
                })
                .await
                .unwrap();
            assert!(n > 0, "a document in state {state}");
        }
        assert!(count(&app, "SELECT count(*) AS n FROM (SELECT document_id FROM document_revisions GROUP BY document_id HAVING COUNT(DISTINCT published_by) > 1 AND COUNT(*) > 2) AS r").await >= 4, "documents revised by other staff");
        assert!(count(&app, "SELECT count(*) AS n FROM document_revisions r JOIN documents d ON d.id = r.document_id WHERE r.revision = d.live_revision AND d.draft_changed").await == 0);
        assert!(count(&app, "SELECT count(*) AS n FROM documents WHERE attachments LIKE '%application/pdf%' AND live_state IN ('scheduled', 'expired', 'visible')").await >= 3, "documents with PDFs");
        assert!(count(&app, "SELECT count(*) AS n FROM (SELECT document_id FROM document_audience GROUP BY document_id HAVING COUNT(*) = 2) AS two").await > 0, "a document for two committees");
        assert!(count(&app, "SELECT count(*) AS n FROM documents WHERE owner_committee = 'HK' AND live_state = 'visible'").await > 0, "HK's officer published");
        let (late, early) = app
            .db()
            .run(move |conn| {
                use diesel::prelude::*;
                use handbook::db::schema::{audit_log as a, document_revisions as r, documents as d};
                let late = r::table.filter(r::published_at.gt(now)).count().get_result::<i64>(conn)?
                    + a::table.filter(a::at.gt(now)).count().get_result::<i64>(conn)?;
                let scheduled_due = d::table.filter(d::live_state.eq("scheduled")).filter(d::live_publish_at.le(now)).count().get_result::<i64>(conn)?;
                let expired_ahead = d::table.filter(d::live_state.eq("expired")).filter(d::live_expires_at.gt(now)).count().get_result::<i64>(conn)?;
                Ok((late, scheduled_due + expired_ahead))
            })
            .await
            .unwrap();
        assert_eq!((late, early), (0, 0), "nothing happened in the future; scheduled ones are ahead, expired ones behind");

        // Required reading: the two newest city-wide resolutions or directives, due ahead, read by part of the members
        // with the app (more of the older one); the counters equal a recount, and each read is in its member's log.
        assert!(loaded.reads > 0, "members have read the required documents");
        assert_eq!(count(&app, "SELECT count(*) AS n FROM documents WHERE required_due_at IS NOT NULL AND live_state = 'visible' AND live_audience_all").await, 2);
        let (stored, expected) = app
            .db()
            .run(|conn| {
                use handbook::reading::counters;
                Ok((counters::stored_rows(conn)?, counters::expected_rows(&counters::full_count(conn, None)?)))
            })
            .await
            .unwrap();
        assert!(!stored.is_empty() && stored == expected, "the read counters equal a recount");
        let readers = count(&app, "SELECT count(*) AS n FROM member_reads").await;
        let logged = count(&app, "SELECT count(*) AS n FROM member_state_log WHERE entity = 'read'").await;
        assert_eq!((readers, logged), (loaded.reads as i64, loaded.reads as i64), "every read is in its member's log");
        let installed_eligible = count(&app, "SELECT count(*) AS n FROM members m WHERE m.status = 'eligible' AND EXISTS (SELECT 1 FROM installations i WHERE i.member_id = m.id AND i.deleted_at IS NULL)").await;
        let share = readers as f64 / (2 * installed_eligible) as f64;
        assert!((0.4..0.7).contains(&share), "about 70% and 40% of members with the app read them: {share}");
        assert_eq!(count(&app, "SELECT count(*) AS n FROM member_reads WHERE read_at > CURRENT_TIMESTAMP").await, 0, "no read in the future");

        // The audit trail: as many entries as asked, in the order of time, of every kind the campaign writes.
        assert_eq!(count(&app, "SELECT count(*) AS n FROM audit_log").await, 6_000);
        assert_eq!(
            count(&app, "SELECT count(*) AS n FROM (SELECT at, LAG(at) OVER (ORDER BY id) AS before FROM audit_log) AS t WHERE t.before > t.at").await,
            0,
            "newest first by id is newest first by time"
        );
        for (action, least) in [("members.import", 49), ("document.publish", 76), ("document.restore", 1), ("document.unpublish", 1), ("attachment.upload", 3), ("activation_codes.issue", 48), ("activation_code.issue", 1_000)] {
            let n = app
                .db()
                .run(move |conn| {
                    use diesel::prelude::*;
                    use handbook::db::schema::audit_log as a;
                    Ok(a::table.filter(a::action.eq(action)).count().get_result::<i64>(conn)?)
                })
                .await
                .unwrap();
            assert!(n >= least, "{action}: {n} entries");
        }
        assert_eq!(count(&app, "SELECT count(*) AS n FROM audit_log WHERE action = 'staff.create'").await, 51, "3 editors and 48 officers");
        assert_eq!(count(&app, "SELECT count(*) AS n FROM audit_log WHERE actor_role = 'officer' AND committee_code IS NULL").await, 0);

        // The officer of HK signs in to the console with the printed password and sees its committee.
        let officer = Console::sign_in(&app, "canbo.hk", &password).await;
        let page = assert_html_page(&app.send(officer.get("/dashboard")).await, 200);
        assert!(page.contains("/dashboard/committees/HK") && !page.contains("/dashboard/committees/BD"), "{page}");

        // A member of HK activated for the test syncs from scratch: exactly the documents visible to HK now.
        let editor = app.login("bientap.lan", &password).await["access_token"].as_str().unwrap().to_owned();
        let card = app
            .db()
            .run(|conn| {
                use diesel::prelude::*;
                use handbook::db::schema::members as m;
                Ok(m::table.filter(m::committee_code.eq("HK")).filter(m::status.eq("eligible")).select(m::card_number).order(m::id).first::<String>(conn)?)
            })
            .await
            .unwrap();
        let member = app.activate_member(&editor, &card, "mật khẩu đảng viên").await["access_token"].as_str().unwrap().to_owned();
        let mut phone = SyncClient::register(&app, &member).await;
        phone.sync(&app).await;
        let received: BTreeSet<String> = phone.documents.keys().cloned().collect();
        let visible = app
            .db()
            .run(|conn| {
                use diesel::prelude::*;
                use handbook::db::schema::{document_audience as aud, documents as d};
                let addressed = aud::table.filter(aud::committee_code.eq("HK")).select(aud::document_id);
                let ids: Vec<String> = d::table
                    .filter(d::live_state.eq("visible"))
                    .filter(d::live_audience_all.eq(true).or(d::id.eq_any(addressed)))
                    .select(d::id)
                    .load(conn)?;
                Ok(ids.into_iter().collect::<BTreeSet<String>>())
            })
            .await
            .unwrap();
        assert!(visible.len() > 50, "{}", visible.len());
        assert_eq!(received, visible, "a device syncing from scratch gets exactly the visible documents");
        let hidden = app
            .db()
            .run(|conn| {
                use diesel::prelude::*;
                use handbook::db::schema::documents as d;
                Ok(d::table.filter(d::live_state.eq_any(["scheduled", "expired", "withdrawn", "none"])).select(d::id).load::<String>(conn)?)
            })
            .await
            .unwrap();
        assert!(hidden.iter().all(|id| !received.contains(id)), "no scheduled, expired, withdrawn or draft document reached the device");

        // Meetings: most cells meet every month, the counters agree with the invitees, every invitation and answer
        // is in the member's state log, below its state_seq.
        let meetings = loaded.meetings;
        assert!(meetings.meetings > 300 && meetings.held > 200 && meetings.cancelled < meetings.meetings / 10, "{meetings:?}");
        assert_eq!(count(&app, "SELECT count(*) AS n FROM meetings").await, meetings.meetings as i64);
        assert_eq!(count(&app, "SELECT count(*) AS n FROM meeting_invitees").await, meetings.invitees as i64);
        assert_eq!(
            count(&app, "SELECT count(*) AS n FROM meetings m WHERE invited <> (SELECT count(*) FROM meeting_invitees i WHERE i.meeting_id = m.id) \
                OR answered <> (SELECT count(*) FROM meeting_invitees i WHERE i.meeting_id = m.id AND i.rsvp IS NOT NULL) \
                OR present <> (SELECT count(*) FROM meeting_invitees i WHERE i.meeting_id = m.id AND i.attendance = 'present')").await,
            0,
            "each meeting's counters agree with its invitees"
        );
        assert_eq!(count(&app, "SELECT count(*) AS n FROM meeting_invitees i WHERE NOT EXISTS (SELECT 1 FROM member_state_log l \
            WHERE l.member_id = i.member_id AND l.entity = 'meeting' AND l.key = i.meeting_id)").await, 0, "every invitation is logged");
        assert_eq!(count(&app, "SELECT count(*) AS n FROM meeting_invitees i WHERE i.rsvp IS NOT NULL AND NOT EXISTS (SELECT 1 FROM member_state_log l \
            WHERE l.member_id = i.member_id AND l.entity = 'rsvp' AND l.key = i.meeting_id)").await, 0, "every answer is logged");
        assert_eq!(count(&app, "SELECT count(*) AS n FROM members m WHERE m.state_seq < (SELECT COALESCE(MAX(l.seq), 0) FROM member_state_log l WHERE l.member_id = m.id)").await, 0);
        assert_eq!(count(&app, "SELECT count(*) AS n FROM meetings WHERE created_at > starts_at OR status NOT IN ('scheduled', 'cancelled')").await, 0);
        // Every cell has its secretary, and one deputy at most (the demo CSV's position column).
        assert_eq!(
            count(&app, "SELECT count(*) AS n FROM (SELECT committee_code, unit, cell FROM members GROUP BY committee_code, unit, cell \
                HAVING SUM(CASE WHEN position = 'secretary' THEN 1 ELSE 0 END) <> 1 OR SUM(CASE WHEN position = 'deputy_secretary' THEN 1 ELSE 0 END) > 1) AS c").await,
            0
        );
        // Last month's statistics: most cells met, most of those invited attended.
        let this_month = handbook::meetings::stats::Period::month_of(now);
        let last_month = handbook::meetings::stats::Period::month_of(this_month.from - chrono::Duration::days(1));
        let query = format!("from={}&to={}", handbook::time::rfc3339(last_month.from), handbook::time::rfc3339(last_month.to));
        let stats = app.get_as(&editor, &format!("/api/v1/meetings/stats?{query}")).await.json();
        let totals = &stats["totals"];
        let without = totals["cells_without_meeting"].as_f64().unwrap() / totals["cells"].as_f64().unwrap();
        assert!((0.02..0.2).contains(&without), "cells without a meeting last month: {without} in {stats}");
        let rate = totals["attendance_rate"].as_f64().unwrap();
        assert!((0.75..0.95).contains(&rate), "attendance last month: {rate}");
        assert!(totals["rsvp_answered"].as_i64().unwrap() * 10 > totals["invited"].as_i64().unwrap() * 7, "{totals}");
        // The member (its cell's secretary) got its meetings and answers with the rest, from scratch.
        let (invited, answered) = app
            .db()
            .run(move |conn| {
                use diesel::prelude::*;
                use handbook::db::schema::{meeting_invitees as i, members as m};
                let id: i64 = m::table.filter(m::card_number.eq(&card)).select(m::id).get_result(conn)?;
                let invited = i::table.filter(i::member_id.eq(id)).select(i::meeting_id).load::<String>(conn)?;
                let answered = i::table.filter(i::member_id.eq(id)).filter(i::rsvp.is_not_null()).select(i::meeting_id).load::<String>(conn)?;
                Ok((invited.into_iter().collect::<BTreeSet<_>>(), answered.into_iter().collect::<BTreeSet<_>>()))
            })
            .await
            .unwrap();
        assert!(!invited.is_empty());
        assert_eq!(phone.state.meetings.keys().cloned().collect::<BTreeSet<_>>(), invited, "the member's meetings reached its device");
        assert_eq!(phone.state.rsvps.keys().cloned().collect::<BTreeSet<_>>(), answered, "and its answers");
    }
}
