//! Issue point 3, "every lookup has an index": the query plans of every lookup, every
//! conditional write and every purge step, checked on both backends, never scan a table.
//! On SQLite that includes each statement inside the one-statement commits' triggers (read
//! from the schema itself, so the check follows the migration). SQLite's `EXPLAIN QUERY
//! PLAN` must show no bare `SCAN table`; PostgreSQL, with sequential
//! scans priced out (`enable_seqscan = off`) and the generic plan forced, must show no
//! `Seq Scan` (a sequential scan is chosen there only when no index can answer the query).

use std::collections::BTreeSet;

use sqlx::{Connection as _, Executor as _, Row as _};

use crate::SqlOptions;

/// The highest `?N` / `$N` parameter number in `sql`.
fn parameter_count(sql: &str, sigil: char) -> usize {
    let mut max = 0;
    let mut rest = sql;
    while let Some(i) = rest.find(sigil) {
        rest = &rest[i + 1..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if let Ok(n) = digits.parse::<usize>() {
            max = max.max(n);
        }
    }
    max
}

fn sqlite_checked() -> Vec<String> {
    let s = crate::sqlite::statements();
    let mut all = vec![
        s.client.clone(),
        s.code.clone(),
        s.refresh.clone(),
        s.access.clone(),
        s.interaction.clone(),
        s.consent.clone(),
        s.redeem.clone(),
        s.issue.clone(),
        s.rotate.clone(),
        s.static_use.clone(),
        s.claim_grace.clone(),
        s.revoke_access.clone(),
        s.finish.clone(),
        s.consent_scope.clone(),
        s.revoke_family.clone(),
        s.purge_family.to_string(),
    ];
    all.extend(s.purge_steps.iter().map(ToString::to_string));
    all
}

/// The statements inside the schema's triggers, each made standalone: every `NEW.column`
/// becomes a numbered parameter and `RAISE(…)` (valid only in a trigger) a `NULL`.
async fn sqlite_trigger_steps(conn: &mut sqlx::SqliteConnection) -> Vec<String> {
    let triggers: Vec<(String, String)> =
        sqlx::query_as("SELECT name, sql FROM sqlite_schema WHERE type = 'trigger'")
            .fetch_all(&mut *conn)
            .await
            .expect("triggers");
    let mut steps = Vec::new();
    for (name, sql) in triggers {
        let body = sql
            .split_once(" BEGIN")
            .and_then(|(_, rest)| rest.rsplit_once("END"))
            .map(|(body, _)| body)
            .unwrap_or_else(|| panic!("trigger {name} has no BEGIN … END body"));
        for step in body.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            let step = step.replace("RAISE(ABORT, 'tollgate:stale')", "NULL");
            let mut out = String::new();
            let mut rest = step.as_str();
            let mut n = 0;
            while let Some(i) = rest.find("NEW.") {
                out.push_str(&rest[..i]);
                rest = &rest[i + 4..];
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(rest.len());
                n += 1;
                out.push_str(&format!("?{n}"));
                rest = &rest[end..];
            }
            out.push_str(rest);
            steps.push(out);
        }
    }
    steps
}

#[tokio::test]
async fn sqlite_statements_use_indexes() {
    let backend = crate::sqlite::Sqlite::open("sqlite::memory:", &SqlOptions::default())
        .await
        .expect("open");
    let mut conn = backend.writer.acquire().await.expect("connection");
    let steps = sqlite_trigger_steps(&mut conn).await;
    // Rotation: check, update, 2 inserts; static use: check, update, insert; redemption:
    // check, update, 3 inserts; issuance: 3 inserts.
    assert_eq!(steps.len(), 15, "trigger steps: {steps:#?}");
    assert!(
        steps.iter().any(|s| s.contains("NOT EXISTS")),
        "the precondition checks are among them"
    );
    for sql in sqlite_checked().into_iter().chain(steps) {
        let explain = format!("EXPLAIN QUERY PLAN {sql}");
        let mut query = sqlx::query(&explain);
        for _ in 0..parameter_count(&sql, '?') {
            query = query.bind(None::<i64>);
        }
        let rows = query.fetch_all(&mut *conn).await.expect("explain");
        let plan: Vec<String> = rows
            .iter()
            .map(|r| r.try_get::<String, _>(3).expect("detail"))
            .collect();
        for line in &plan {
            // `SCAN CONSTANT ROW` is a `SELECT` without `FROM` (a trigger's check), no table.
            let bare_scan = line.starts_with("SCAN ")
                && !line.contains(" USING ")
                && line != "SCAN CONSTANT ROW";
            assert!(!bare_scan, "{sql}\nscans a table: {plan:#?}");
        }
    }
}

#[tokio::test]
async fn postgres_statements_use_indexes() {
    let url = std::env::var("TOLLGATE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string());
    let mut admin = sqlx::PgConnection::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL is not reachable at {url}: {e}"));
    let schema = format!("tg_plans_{}", std::process::id());
    admin
        .execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}").as_str())
        .await
        .expect("schema");
    let connect = url
        .parse::<sqlx::postgres::PgConnectOptions>()
        .expect("url")
        .options([("search_path", schema.as_str())]);
    let backend = crate::postgres::Postgres::open_with(connect.clone(), &SqlOptions::default())
        .await
        .expect("open");
    backend.close().await;
    let mut conn = sqlx::PgConnection::connect_with(&connect)
        .await
        .expect("connect");
    // Generic plans (parameters unknown, as for any value a request brings), with
    // sequential scans priced out.
    conn.execute("SET enable_seqscan = off; SET plan_cache_mode = force_generic_plan")
        .await
        .expect("set");
    let l = crate::postgres::lookups();
    let mut checked: BTreeSet<String> =
        [&l.code, &l.refresh, &l.access, &l.interaction, &l.consent]
            .into_iter()
            .cloned()
            .collect();
    checked.insert("SELECT data FROM clients WHERE id = $1".into());
    checked.extend(crate::postgres::PURGE_STEPS.iter().map(ToString::to_string));
    checked.insert(crate::postgres::PURGE_FAMILIES.into());
    // Failures are collected, not raised at once, so the schema is dropped either way.
    let mut failures = Vec::new();
    for (i, sql) in checked.iter().enumerate() {
        if let Err(e) = conn
            .execute(format!("PREPARE p{i} AS {sql}").as_str())
            .await
        {
            failures.push(format!("{sql}: {e}"));
            continue;
        }
        let nulls = vec!["NULL"; parameter_count(sql, '$')].join(", ");
        let explain = if nulls.is_empty() {
            format!("EXPLAIN EXECUTE p{i}")
        } else {
            format!("EXPLAIN EXECUTE p{i}({nulls})")
        };
        let plan: Vec<String> = match sqlx::query(&explain).fetch_all(&mut conn).await {
            Ok(rows) => rows
                .iter()
                .filter_map(|r| r.try_get::<String, _>(0).ok())
                .collect(),
            Err(e) => {
                failures.push(format!("{sql}: {e}"));
                continue;
            }
        };
        if plan.iter().any(|line| line.contains("Seq Scan")) {
            failures.push(format!("{sql}\nscans a table: {plan:#?}"));
        }
    }
    let _ = conn.close().await;
    admin
        .execute(format!("DROP SCHEMA {schema} CASCADE").as_str())
        .await
        .expect("drop");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
