//! `pinbrev report` through the real binary, on a hand-countable scenario built from the
//! fixtures: one batch for printco with receipts (in time, late, across Easter, Ascension Day
//! and Whit Monday, returned, failed), a second batch for postco, then `ordered_at` moved to
//! fixed dates so that every deadline is the same whatever day the test runs.

mod common;

use std::collections::BTreeMap;

use chrono::{Duration, SecondsFormat, Utc};
use common::Work;
use serde_json::{json, Value};

// The orders of the scenario (all validated by the fixture intake).
const A: &str = "WEB-20261123-0001"; // 30 Mar, posted 1 Apr: in time
const B: &str = "WEB-20261123-0002"; // 30 Mar, posted 7 Apr 23:30 Oslo: in time (Easter)
const C: &str = "WEB-20261123-0003"; // 30 Mar, posted 8 Apr 00:30 Oslo: 1 working day late
const D: &str = "WEB-20261123-0004"; // Fri 8 May, posted Mon 18 May: 2 working days late
const E: &str = "WEB-20261123-0005"; // 20 May 00:30 Oslo, posted Tue 26 May: in time
const F: &str = "WEB-20261123-0006"; // 30 Mar, posted 1 Apr, returned 10 Apr
const G: &str = "WEB-20261123-0007"; // 30 Mar, failed, in postco's batch since: overdue
const H: &str = "WEB-20261123-0008"; // 20 May, printed only: overdue
const HELD_OLD: &str = "WEB-20261123-0028"; // held, ordered 30 Mar
const HELD_NEW: &str = "WEB-20261123-0029"; // held, ordered an hour ago
const REJECTED_OLD: &str = "WEB-20261123-0030"; // deceased, ordered 30 Mar
const DUPLICATE_MAY: &str = "WEB-20261123-0012"; // duplicate, ordered 20 May

/// 30 March 2026, 10:00 in Oslo (a Monday; Easter Sunday is 5 April).
const MARCH_30: &str = "2026-03-30T08:00:00.000000Z";

struct Scenario {
    w: Work,
    printco: String,
    postco: String,
    letter_of_f: String,
}

fn letter_of(w: &Work, order: &str) -> (String, String) {
    let r = w.sql(&format!(
        "SELECT letter_id, batch_id FROM letters WHERE order_id = '{order}' ORDER BY created_at, letter_id"
    ));
    (r[0][0].clone(), r[0][1].clone())
}

fn scenario() -> Scenario {
    let w = Work::new();
    w.load_fixtures();
    w.ok(&[
        "batch", "create", "--vendor", "printco", "--outbox", "outbox",
    ]);
    let printco = w.sql("SELECT batch_id FROM batches")[0][0].clone();
    // The scenario happened in spring: the batch was published before the receipts' dates (a
    // receipt from before its batch's publication is refused).
    w.sql("UPDATE batches SET published_at = '2026-03-30T12:00:00.000000Z'");
    let l = |order: &str| letter_of(&w, order).0;
    let receipts = format!(
        "batch_id,letter_id,event,occurred_at,detail\n\
         {printco},{a},printed,2026-03-31T09:00:00+02:00,\n\
         {printco},{a},posted,2026-04-01T12:00:00+02:00,\n\
         {printco},{b},posted,2026-04-07T23:30:00+02:00,\n\
         {printco},{c},posted,2026-04-08T00:30:00+02:00,\n\
         {printco},{d},posted,2026-05-18T10:00:00+02:00,\n\
         {printco},{e},posted,2026-05-26T15:00:00+02:00,\n\
         {printco},{f},posted,2026-04-01T12:00:00+02:00,\n\
         {printco},{f},returned,2026-04-10T09:00:00+02:00,\"Ukjent adressat, flyttet\"\n\
         {printco},{g},failed,2026-03-31T08:30:00+02:00,paper jam\n\
         {printco},{h},printed,2026-05-21T09:00:00+02:00,\n",
        a = l(A),
        b = l(B),
        c = l(C),
        d = l(D),
        e = l(E),
        f = l(F),
        g = l(G),
        h = l(H),
    );
    std::fs::write(w.path("receipts.csv"), receipts).unwrap();
    let r = w.ok(&["receipts", "ingest", "receipts.csv"]);
    assert!(r.stdout.contains("10 applied"), "{}", r.stdout);
    // The failed letter's order goes to another vendor.
    w.ok(&[
        "batch", "create", "--vendor", "postco", "--outbox", "outbox",
    ]);
    let postco = w.sql("SELECT batch_id FROM batches WHERE vendor = 'postco'")[0][0].clone();

    // Fixed order times; every other order was placed an hour ago.
    let hour_ago = (Utc::now() - Duration::hours(1)).to_rfc3339_opts(SecondsFormat::Micros, true);
    w.sql(&format!("UPDATE orders SET ordered_at = '{hour_ago}'"));
    for (order, at) in [
        (A, MARCH_30),
        (B, MARCH_30),
        (C, MARCH_30),
        (F, MARCH_30),
        (G, MARCH_30),
        (HELD_OLD, MARCH_30),
        (REJECTED_OLD, MARCH_30),
        // Friday 8 May, 12:00 in Oslo.
        (D, "2026-05-08T10:00:00.000000Z"),
        // Wednesday 20 May, 00:30 in Oslo: still Tuesday 19 May in UTC.
        (E, "2026-05-19T22:30:00.000000Z"),
        (H, "2026-05-20T10:00:00.000000Z"),
        (DUPLICATE_MAY, "2026-05-20T10:00:00.000000Z"),
    ] {
        w.sql(&format!(
            "UPDATE orders SET ordered_at = '{at}' WHERE order_id = '{order}'"
        ));
    }
    w.sql(&format!(
        "UPDATE order_events SET at = '2026-03-30T08:05:00.000000Z' WHERE order_id = '{HELD_OLD}' AND to_status = 'held'"
    ));
    let letter_of_f = letter_of(&w, F).0;
    Scenario {
        w,
        printco,
        postco,
        letter_of_f,
    }
}

fn report_json(w: &Work, args: &[&str]) -> Value {
    let mut all = vec!["report", "--format", "json"];
    all.extend_from_slice(args);
    let r = w.ok(&all);
    assert_no_eleven_digits(&r.stdout);
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}", r.stdout))
}

fn assert_no_eleven_digits(text: &str) {
    let re = regex::Regex::new(r"(^|[^0-9])[0-9]{11}($|[^0-9])").unwrap();
    assert!(!re.is_match(text), "a full national id in: {text}");
}

/// The non-zero counts of a JSON object of counts.
fn nonzero(v: &Value) -> BTreeMap<String, i64> {
    v.as_object()
        .unwrap()
        .iter()
        .filter(|(_, n)| n.as_i64().unwrap() != 0)
        .map(|(k, n)| (k.clone(), n.as_i64().unwrap()))
        .collect()
}

fn counts(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
    pairs.iter().map(|(k, n)| (k.to_string(), *n)).collect()
}

/// Working days late of an order still not posted: depends on today, so computed with the
/// library's rule (which the unit tests check against fixed dates); at least the working days
/// from the deadline to 24 November 2026, the day this test was written.
fn late_until_now(deadline_day: &str, at_least: u64) -> Vec<u64> {
    let day = deadline_day.parse().unwrap();
    let before = pinbrev::report::working_days_late(day, Utc::now() - Duration::minutes(5));
    let after = pinbrev::report::working_days_late(day, Utc::now() + Duration::minutes(5));
    assert!(u64::from(before) >= at_least);
    vec![u64::from(before), u64::from(after)]
}

#[test]
fn the_whole_report_is_exact() {
    let s = scenario();
    let w = &s.w;
    let v = report_json(w, &["--since", "2026-01-01"]);
    assert_eq!(v["since"], "2025-12-31T23:00:00.000000Z");
    assert!(v["generated_at"].as_str().unwrap() > "2026-11-24");

    // 66 fixture orders: 30 validated ones (A–H among them) went into printco's batch.
    // A, B, C, D, E posted; F returned; H printed; G failed and is in postco's batch, so
    // batched are the 22 untouched ones plus G.
    assert_eq!(
        nonzero(&v["by_status"]),
        counts(&[
            ("batched", 23),
            ("printed", 1),
            ("posted", 5),
            ("returned", 1),
            ("rejected", 29),
            ("duplicate", 5),
            ("held", 2),
        ])
    );
    assert_eq!(v["by_status"]["validated"], 0);
    assert_eq!(v["by_status"].as_object().unwrap().len(), 11);
    // fixtures/expected.tsv, counted by reason.
    assert_eq!(
        nonzero(&v["by_reason"]),
        counts(&[
            ("duplicate", 5),
            ("address_protected", 2),
            ("postcode_category", 4),
            ("invalid_foreign_address", 4),
            ("deceased", 4),
            ("false_identity", 1),
            ("too_young", 2),
            ("no_postal_address", 2),
            ("address_too_long", 2),
            ("invalid_national_id", 2),
            ("unknown_person", 2),
            ("person_missing", 1),
            ("unknown_postcode", 1),
            ("identity_ceased", 1),
            ("identity_inactive", 1),
            ("postcode_place_mismatch", 1),
            ("h_number", 1),
        ])
    );

    // Judged: the 30 that got a letter. In time: A (1 Apr), B (7 Apr 23:30 Oslo: the deadline
    // is Tuesday 7 April, as Maundy Thursday to Easter Monday are holidays), E (placed Wednesday
    // 20 May in Oslo, deadline Tuesday 26 May past Whit Monday), F (posted 1 Apr, returned
    // later). Late: C (8 Apr 00:30 Oslo), D (deadline Wednesday 13 May; Thursday 14 May is
    // Ascension Day, 17 May a Sunday: posted Monday 18 May = 2 working days late).
    // Overdue: G (failed, waiting in postco's batch), H (printed only). The other 22: placed an
    // hour ago, not yet due.
    assert_eq!(
        v["sla"],
        json!({
            "working_days": 3,
            "time_zone": "Europe/Oslo",
            "orders": 30,
            "posted_in_time": 4,
            "posted_late": 2,
            "overdue": 2,
            "not_yet_due": 22
        })
    );
    let breaches = v["sla_breaches"].as_array().unwrap();
    let ids: Vec<&str> = breaches
        .iter()
        .map(|b| b["order_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [C, G, D, H], "oldest first, then by order id");
    assert_eq!(
        breaches[0],
        json!({
            "order_id": C,
            "status": "posted",
            "ordered_at": MARCH_30,
            "deadline_day": "2026-04-07",
            "deadline": "2026-04-07T22:00:00.000000Z",
            "posted_at": "2026-04-07T22:30:00.000000Z",
            "working_days_late": 1
        })
    );
    assert_eq!(
        breaches[2],
        json!({
            "order_id": D,
            "status": "posted",
            "ordered_at": "2026-05-08T10:00:00.000000Z",
            "deadline_day": "2026-05-13",
            "deadline": "2026-05-13T22:00:00.000000Z",
            "posted_at": "2026-05-18T08:00:00.000000Z",
            "working_days_late": 2
        })
    );
    for (b, status, day, at_least) in [
        // 8 Apr to 24 Nov 2026 (the day this was written): 165 weekdays less 1 May, 14 May
        // and 25 May.
        (&breaches[1], "batched", "2026-04-07", 162),
        // 27 May to 24 Nov 2026: 130 weekdays, no holiday among them.
        (&breaches[3], "printed", "2026-05-26", 130),
    ] {
        assert_eq!(b["status"], status);
        assert_eq!(b["deadline_day"], day);
        assert_eq!(b["posted_at"], Value::Null);
        let late = b["working_days_late"].as_u64().unwrap();
        assert!(late_until_now(day, at_least).contains(&late), "{b}");
    }

    // Waiting for a person.
    assert_eq!(
        v["held"],
        json!([
            {
                "order_id": HELD_OLD,
                "national_id": "318882*****",
                "reason": "address_protected",
                "held_since": "2026-03-30T08:05:00.000000Z"
            },
            {
                "order_id": HELD_NEW,
                "national_id": "138174*****",
                "reason": "address_protected",
                "held_since": v["held"][1]["held_since"]
            }
        ])
    );
    assert!(v["held"][1]["held_since"].as_str().unwrap() > "2026-11-24");
    assert_eq!(
        v["returned"],
        json!([{
            "order_id": F,
            "national_id": "308472*****",
            "letter_id": s.letter_of_f,
            "returned_at": "2026-04-10T07:00:00.000000Z",
            "reason": "Ukjent adressat, flyttet"
        }])
    );

    // Vendors by name; printco's 30 letters by where they are now.
    let vendors = v["vendors"].as_array().unwrap();
    assert_eq!(vendors.len(), 2);
    assert_eq!(vendors[0]["vendor"], "postco");
    assert_eq!(vendors[0]["batch_count"], 1);
    assert_eq!(vendors[0]["letters"], 1);
    assert_eq!(vendors[0]["batches"][0]["batch_id"], s.postco.as_str());
    assert_eq!(vendors[0]["batches"][0]["state"], "published");
    assert_eq!(vendors[0]["batches"][0]["by_status"], json!({"batched": 1}));
    assert_eq!(vendors[1]["vendor"], "printco");
    assert_eq!(vendors[1]["batch_count"], 1);
    assert_eq!(vendors[1]["letters"], 30);
    let batch = &vendors[1]["batches"][0];
    assert_eq!(batch["batch_id"], s.printco.as_str());
    assert_eq!(batch["letters"], 30);
    assert_eq!(
        batch["by_status"],
        json!({"batched": 22, "printed": 1, "posted": 5, "returned": 1, "failed": 1})
    );
    let keys: Vec<&String> = batch["by_status"].as_object().unwrap().keys().collect();
    assert_eq!(keys.len(), 5);
}

#[test]
fn since_filters_by_oslo_midnight_or_exact_time() {
    let s = scenario();
    let w = &s.w;
    // From 1 April: A, B, C, F, G, the old held and the old rejected order are out (11 old
    // orders, 7 of them from 30 March): 55 orders of an hour ago plus D, E, H and the May
    // duplicate.
    let v = report_json(w, &["--since", "2026-04-01"]);
    assert_eq!(v["since"], "2026-03-31T22:00:00.000000Z");
    assert_eq!(
        nonzero(&v["by_status"]),
        counts(&[
            ("batched", 22),
            ("printed", 1),
            ("posted", 2),
            ("rejected", 28),
            ("duplicate", 5),
            ("held", 1),
        ])
    );
    assert_eq!(v["sla"]["orders"], 25);
    assert_eq!(v["sla"]["posted_in_time"], 1); // E
    assert_eq!(v["sla"]["posted_late"], 1); // D
    assert_eq!(v["sla"]["overdue"], 1); // H
    assert_eq!(v["sla"]["not_yet_due"], 22);
    let ids: Vec<&str> = v["sla_breaches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["order_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [D, H]);
    assert_eq!(v["held"].as_array().unwrap().len(), 1);
    assert_eq!(v["returned"], json!([]));
    // Batches made today are in.
    assert_eq!(v["vendors"].as_array().unwrap().len(), 2);

    // A date is midnight in Oslo: E, placed 00:30 on 20 May in Oslo (22:30 UTC the day
    // before), is in; D (8 May) is not.
    let v = report_json(w, &["--since", "2026-05-20"]);
    assert_eq!(v["since"], "2026-05-19T22:00:00.000000Z");
    assert_eq!(v["by_status"]["posted"], 1);
    assert_eq!(v["sla"]["orders"], 24);
    assert_eq!(v["sla"]["posted_in_time"], 1);
    assert_eq!(v["sla"]["posted_late"], 0);
    // RFC 3339: at or after the instant.
    let v = report_json(w, &["--since", "2026-05-19T22:30:00Z"]);
    assert_eq!(v["by_status"]["posted"], 1);
    let v = report_json(w, &["--since", "2026-05-20T00:30:01+02:00"]);
    assert_eq!(v["by_status"]["posted"], 0);
    assert_eq!(v["by_status"]["printed"], 1);

    // By default the last 30 days: only the orders of an hour ago, none due yet.
    let v = report_json(w, &[]);
    assert_eq!(
        nonzero(&v["by_status"]),
        counts(&[
            ("batched", 22),
            ("rejected", 28),
            ("duplicate", 4),
            ("held", 1),
        ])
    );
    assert_eq!(v["sla"]["orders"], 22);
    assert_eq!(v["sla"]["not_yet_due"], 22);
    assert_eq!(v["sla_breaches"], json!([]));
    assert_eq!(v["held"][0]["order_id"], HELD_NEW);
    let since = chrono::DateTime::parse_from_rfc3339(v["since"].as_str().unwrap()).unwrap();
    let generated =
        chrono::DateTime::parse_from_rfc3339(v["generated_at"].as_str().unwrap()).unwrap();
    assert_eq!(generated - since, Duration::days(30));

    // From the future: nothing, and no batch.
    let v = report_json(w, &["--since", "2099-01-01"]);
    assert_eq!(v["sla"]["orders"], 0);
    assert_eq!(v["vendors"], json!([]));
    assert!(v["by_status"].as_object().unwrap().values().all(|n| n == 0));

    let bad = w.run(&["report", "--since", "yesterday"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("YYYY-MM-DD"), "{}", bad.stderr);
}

#[test]
fn table_and_csv_show_the_same_figures() {
    let s = scenario();
    let w = &s.w;
    let table = w.ok(&["report", "--since", "2026-01-01"]).stdout;
    assert_no_eleven_digits(&table);
    let line_with = |parts: &[&str]| {
        table
            .lines()
            .find(|l| parts.iter().all(|p| l.contains(p)))
            .unwrap_or_else(|| panic!("no line with {parts:?} in:\n{table}"))
            .to_string()
    };
    for (name, n) in [
        ("batched", 23),
        ("posted", 5),
        ("rejected", 29),
        ("held", 2),
        ("postcode_category", 4),
        ("address_protected", 2),
    ] {
        let row = regex::Regex::new(&format!(r"(?m)^{name} +{n}$")).unwrap();
        assert!(row.is_match(&table), "no row {name} {n} in:\n{table}");
    }
    line_with(&["30 orders judged: 4 posted in time, 2 posted late, 2 overdue, 22 not yet due"]);
    line_with(&["SLA breaches (4)"]);
    let c = line_with(&[C, "2026-04-07"]);
    assert!(
        c.contains("2026-04-08 00:30 +02:00") && c.ends_with(" 1"),
        "{c}"
    );
    let d = line_with(&[D, "2026-05-13"]);
    assert!(
        d.contains("2026-05-18 10:00 +02:00") && d.ends_with(" 2"),
        "{d}"
    );
    line_with(&[
        HELD_OLD,
        "318882*****",
        "address_protected",
        "2026-03-30 10:05 +02:00",
    ]);
    line_with(&[F, &s.letter_of_f, "308472*****", "Ukjent adressat, flyttet"]);
    line_with(&["vendor printco: 1 batch, 30 letters"]);
    line_with(&["vendor postco: 1 batch, 1 letter"]);
    line_with(&[
        &s.printco,
        "published",
        "batched 22, printed 1, posted 5, returned 1, failed 1",
    ]);

    let out = w
        .ok(&["report", "--since", "2026-01-01", "--format", "csv"])
        .stdout;
    assert_no_eleven_digits(&out);
    let mut reader = csv::Reader::from_reader(out.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "section",
            "key",
            "name",
            "value",
            "at",
            "deadline",
            "posted_at",
            "national_id",
            "detail"
        ]
    );
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    let has = |cells: &[&str]| {
        let mut want: Vec<String> = cells.iter().map(|c| c.to_string()).collect();
        want.resize(9, String::new());
        assert!(rows.contains(&want), "no row {want:?} in:\n{out}");
    };
    has(&["meta", "since", "", "", "2025-12-31T23:00:00.000000Z"]);
    has(&["status", "posted", "", "5"]);
    has(&["status", "validated", "", "0"]);
    has(&["reason", "duplicate", "", "5"]);
    has(&["sla", "orders", "", "30"]);
    has(&["sla", "posted_in_time", "", "4"]);
    has(&["sla", "posted_late", "", "2"]);
    has(&["sla", "overdue", "", "2"]);
    has(&["sla", "not_yet_due", "", "22"]);
    has(&[
        "sla_breach",
        C,
        "posted",
        "1",
        MARCH_30,
        "2026-04-07T22:00:00.000000Z",
        "2026-04-07T22:30:00.000000Z",
        "",
        "2026-04-07",
    ]);
    has(&[
        "sla_breach",
        D,
        "posted",
        "2",
        "2026-05-08T10:00:00.000000Z",
        "2026-05-13T22:00:00.000000Z",
        "2026-05-18T08:00:00.000000Z",
        "",
        "2026-05-13",
    ]);
    has(&[
        "held",
        HELD_OLD,
        "address_protected",
        "",
        "2026-03-30T08:05:00.000000Z",
        "",
        "",
        "318882*****",
    ]);
    has(&[
        "returned",
        F,
        &s.letter_of_f,
        "",
        "2026-04-10T07:00:00.000000Z",
        "",
        "",
        "308472*****",
        "Ukjent adressat, flyttet",
    ]);
    has(&["vendor", "printco", "batches", "1"]);
    has(&["vendor", "printco", "letters", "30"]);
    has(&["vendor", "postco", "letters", "1"]);
    has(&["batch_status", &s.printco, "failed", "1"]);
    has(&["batch_status", &s.printco, "batched", "22"]);
    has(&["batch_status", &s.postco, "batched", "1"]);
    assert_eq!(rows.iter().filter(|r| r[0] == "sla_breach").count(), 4);
    assert_eq!(rows.iter().filter(|r| r[0] == "status").count(), 11);
    let batch = rows
        .iter()
        .find(|r| r[0] == "batch" && r[1] == s.printco)
        .unwrap();
    assert_eq!((batch[2].as_str(), batch[3].as_str()), ("printco", "30"));
    assert_eq!(batch[8], "published");

    let help = w.ok(&["report", "--help"]).stdout;
    assert!(
        help.contains("sla_breach,ORDER_ID,STATUS,WORKING_DAYS_LATE"),
        "{help}"
    );
}

#[test]
fn no_national_id_or_address_in_any_format() {
    let s = scenario();
    let w = &s.w;
    let mut outputs = String::new();
    for format in ["table", "json", "csv"] {
        let r = w.ok(&["report", "--since", "2026-01-01", "--format", format]);
        common::assert_no_full_national_id(&r);
        outputs.push_str(&r.stdout);
    }
    for id in w.sql("SELECT national_id FROM orders WHERE length(national_id) = 11") {
        assert!(!outputs.contains(&id[0]), "{}*****", &id[0][..6]);
    }
    let mut lines = 0;
    for row in w.sql("SELECT address FROM orders WHERE address IS NOT NULL") {
        let block: Value = serde_json::from_str(&row[0]).unwrap();
        for line in block["lines"].as_array().unwrap() {
            let line = line.as_str().unwrap();
            lines += 1;
            assert!(
                !outputs.lines().any(|l| l.contains(line)),
                "address line {line:?} in the report"
            );
        }
    }
    assert!(lines > 50);
    assert!(outputs.contains("*****"));
}

#[test]
fn an_empty_database_reports_nothing_in_every_format() {
    let w = Work::new();
    w.create_database();
    let v = report_json(&w, &[]);
    assert_eq!(v["sla"]["orders"], 0);
    assert_eq!(v["sla_breaches"], json!([]));
    assert_eq!(v["held"], json!([]));
    assert_eq!(v["returned"], json!([]));
    assert_eq!(v["vendors"], json!([]));
    assert_eq!(v["by_reason"], json!({}));
    let table = w.ok(&["report"]).stdout;
    assert!(table.contains("SLA breaches (0)"), "{table}");
    let csv = w.ok(&["report", "--format", "csv"]).stdout;
    assert!(csv.starts_with("section,key,name,value,"), "{csv}");
}

/// The breaches wait in a file without a name under `TMPDIR`: where that folder is missing, the
/// report fails naming it, and leaves no file at `--out`.
#[test]
fn a_report_whose_breaches_cannot_be_kept_fails_naming_the_folder() {
    let w = Work::new();
    w.create_database();
    let r = w.run_with(
        &["report", "--format", "json", "--out", "r.json"],
        &[("TMPDIR", "/nonexistent/pinbrev-tmp")],
    );
    common::assert_failed_without_tmpdir(
        &r,
        "cannot keep the report's SLA breaches in a temporary file under /nonexistent/pinbrev-tmp",
    );
    assert!(!w.path("r.json").exists());
}

// --- the HTML page, in a real browser ------------------------------------------------------------

/// How long one browser run may take before the test kills it and fails.
const BROWSER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);

/// The headless browser the page is checked in: Debian's `chromium`. A missing browser fails
/// the test, never skips it.
fn chromium_path() -> std::path::PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([std::path::PathBuf::from("/usr/bin")])
        .map(|dir| dir.join("chromium"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "chromium is not installed: the HTML report is checked in a real headless \
                 browser; install Debian's `chromium` package (apt-get install chromium; \
                 `make test` installs it)"
            )
        })
}

/// Runs headless chromium on a local page with these extra arguments, in its own profile
/// inside the test's folder, killed (with every process it started) after
/// [`BROWSER_TIMEOUT`]; returns its stdout. Its stderr (dbus complaints and the like) is only
/// shown when it fails.
fn chromium(w: &Work, name: &str, args: &[String], page: &std::path::Path) -> Vec<u8> {
    use std::os::unix::process::CommandExt;
    let out = w.path(&format!("chromium-{name}.out"));
    let err = w.path(&format!("chromium-{name}.err"));
    let mut cmd = std::process::Command::new(chromium_path());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-sync",
        "--disable-dev-shm-usage",
    ])
    .arg(format!(
        "--user-data-dir={}",
        w.path(&format!("chromium-profile-{name}")).display()
    ))
    .args(args)
    .arg(format!("file://{}", page.display()))
    .env("HOME", w.path("."))
    .stdin(std::process::Stdio::null())
    .stdout(std::fs::File::create(&out).unwrap())
    .stderr(std::fs::File::create(&err).unwrap())
    .process_group(0);
    let mut child = cmd.spawn().expect("chromium starts");
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > BROWSER_TIMEOUT {
            // SAFETY: a signal to the process group this test started.
            unsafe {
                libc::kill(-(child.id() as i32), libc::SIGKILL);
            }
            let _ = child.wait();
            panic!("chromium did not finish in {BROWSER_TIMEOUT:?} ({name})");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(
        status.success(),
        "chromium {name} failed ({status}): {}",
        std::fs::read_to_string(&err).unwrap_or_default()
    );
    std::fs::read(&out).unwrap()
}

/// The bars of a rendered page: (series, key, status) → value, from the `data-*` attributes
/// of every `<rect>` (attribute values unescaped).
fn bars_in(dom: &str) -> BTreeMap<(String, String, String), i64> {
    let rect = regex::Regex::new(r"<rect\s([^>]*)>").unwrap();
    let attr = regex::Regex::new(r#"(data-[a-z]+)="([^"]*)""#).unwrap();
    let unescape = |s: &str| {
        s.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&nbsp;", "\u{a0}")
            .replace("&amp;", "&")
    };
    let mut out = BTreeMap::new();
    for r in rect.captures_iter(dom) {
        let attrs: BTreeMap<String, String> = attr
            .captures_iter(&r[1])
            .map(|c| (c[1].to_string(), unescape(&c[2])))
            .collect();
        let Some(series) = attrs.get("data-series") else {
            continue;
        };
        let key = (
            series.clone(),
            attrs["data-key"].clone(),
            attrs.get("data-status").cloned().unwrap_or_default(),
        );
        let value = attrs["data-value"].parse().unwrap();
        assert!(out.insert(key.clone(), value).is_none(), "{key:?} twice");
    }
    out
}

/// What the charts must show, from `report --format json`: the same keys as [`bars_in`],
/// non-zero counts only.
fn bars_from_json(v: &Value) -> BTreeMap<(String, String, String), i64> {
    let mut want = BTreeMap::new();
    let mut put = |series: &str, key: &str, status: &str, n: i64| {
        if n != 0 {
            let k = (series.to_string(), key.to_string(), status.to_string());
            *want.entry(k).or_insert(0) += n;
        }
    };
    for day in v["orders_per_day"].as_array().unwrap() {
        let d = day["day"].as_str().unwrap();
        for (status, n) in day["by_status"].as_object().unwrap() {
            put("orders_per_day", d, status, n.as_i64().unwrap());
        }
    }
    for (reason, n) in v["by_reason"].as_object().unwrap() {
        put("by_reason", reason, "", n.as_i64().unwrap());
    }
    for day in v["sla_breaches_per_day"].as_array().unwrap() {
        let d = day["day"].as_str().unwrap();
        for kind in ["posted_late", "overdue"] {
            put("sla_breaches_per_day", d, kind, day[kind].as_i64().unwrap());
        }
    }
    for vendor in v["vendors"].as_array().unwrap() {
        let name = vendor["vendor"].as_str().unwrap();
        put(
            "vendor_batches",
            name,
            "",
            vendor["batch_count"].as_i64().unwrap(),
        );
        for batch in vendor["batches"].as_array().unwrap() {
            for (status, n) in batch["by_status"].as_object().unwrap() {
                put("vendor_letters", name, status, n.as_i64().unwrap());
            }
        }
    }
    want
}

fn bar(series: &str, key: &str, status: &str) -> (String, String, String) {
    (series.to_string(), key.to_string(), status.to_string())
}

#[test]
fn the_html_page_shows_the_json_numbers_in_a_real_browser() {
    let s = scenario();
    let w = &s.w;
    let v = report_json(w, &["--since", "2026-01-01"]);
    let r = w.ok(&[
        "report",
        "--since",
        "2026-01-01",
        "--format",
        "html",
        "--out",
        "report.html",
    ]);
    assert_eq!(r.stdout, "report written to report.html\n");
    let page = w.path("report.html");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&page).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "the page is for its owner only");
    let html = std::fs::read_to_string(&page).expect("UTF-8");

    // The JSON's new series, by hand: the days are Oslo days (E, placed at 00:30 on 20 May in
    // Oslo, is on the 20th, not on the 19th as in UTC) and sum to the totals.
    let per_day: BTreeMap<String, Value> = v["orders_per_day"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["day"].as_str().unwrap().to_string(),
                d["by_status"].clone(),
            )
        })
        .collect();
    assert_eq!(
        per_day["2026-03-30"],
        json!({"rejected": 1, "held": 1, "batched": 1, "posted": 3, "returned": 1})
    );
    assert_eq!(per_day["2026-05-08"], json!({"posted": 1}));
    assert!(!per_day.contains_key("2026-05-19"));
    assert_eq!(
        per_day["2026-05-20"],
        json!({"duplicate": 1, "printed": 1, "posted": 1})
    );
    let mut summed: BTreeMap<String, i64> = BTreeMap::new();
    for counts in per_day.values() {
        for (status, n) in counts.as_object().unwrap() {
            *summed.entry(status.clone()).or_default() += n.as_i64().unwrap();
        }
    }
    assert_eq!(summed, nonzero(&v["by_status"]));
    assert_eq!(
        v["sla_breaches_per_day"],
        json!([
            {"day": "2026-04-07", "posted_late": 1, "overdue": 1},
            {"day": "2026-05-13", "posted_late": 1, "overdue": 0},
            {"day": "2026-05-26", "posted_late": 0, "overdue": 1}
        ])
    );

    // The page as the browser built it: every chart's numbers are the JSON's.
    let dom = String::from_utf8(chromium(w, "dom", &["--dump-dom".to_string()], &page))
        .expect("UTF-8 DOM");
    assert!(dom.contains("<h1>PIN-code letters: report</h1>"), "{dom}");
    let shown = bars_in(&dom);
    let want = bars_from_json(&v);
    assert_eq!(shown, want);
    for (series, at_least) in [
        ("orders_per_day", 10),
        ("by_reason", 17),
        ("sla_breaches_per_day", 4),
        ("vendor_letters", 6),
        ("vendor_batches", 2),
    ] {
        let n = shown.keys().filter(|(s, _, _)| s == series).count();
        assert!(n >= at_least, "{series}: {n} bars");
    }
    assert_eq!(shown[&bar("orders_per_day", "2026-03-30", "posted")], 3);
    assert_eq!(shown[&bar("by_reason", "postcode_category", "")], 4);
    assert_eq!(
        shown[&bar("sla_breaches_per_day", "2026-04-07", "overdue")],
        1
    );
    assert_eq!(shown[&bar("vendor_letters", "printco", "failed")], 1);
    assert_eq!(shown[&bar("vendor_letters", "printco", "batched")], 22);
    assert_eq!(shown[&bar("vendor_batches", "postco", "")], 1);
    // The period and the moment, in Oslo time.
    assert!(
        dom.contains("since 2026-01-01 00:00 +01:00"),
        "no period in the page"
    );
    let generated = regex::Regex::new(r"generated \d{4}-\d\d-\d\d \d\d:\d\d \+0[12]:00").unwrap();
    assert!(generated.is_match(&dom), "no generation time");

    // Self-contained, and nothing personal: no script, no URL, no national id (not even
    // masked), no address.
    let lower = html.to_lowercase();
    for banned in [
        "<script", "http:", "https:", "src=", "href=", "url(", "@import",
    ] {
        assert!(!lower.contains(banned), "{banned} in the page");
    }
    assert_no_eleven_digits(&html);
    assert!(!html.contains("*****"), "a masked national id in the page");
    for id in w.sql("SELECT national_id FROM orders WHERE length(national_id) = 11") {
        assert!(!html.contains(&id[0]), "{}***** in the page", &id[0][..6]);
    }
    for row in w.sql("SELECT address FROM orders WHERE address IS NOT NULL") {
        let block: Value = serde_json::from_str(&row[0]).unwrap();
        for line in block["lines"].as_array().unwrap() {
            let line = line.as_str().unwrap();
            assert!(!html.contains(line), "address line {line:?} in the page");
        }
    }

    // It renders: a screenshot of the size asked for, and not a blank page.
    let shot = w.path("report.png");
    chromium(
        w,
        "shot",
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1280,2000".to_string(),
            "--hide-scrollbars".to_string(),
        ],
        &page,
    );
    let png = std::fs::read(&shot).expect("chromium wrote the screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
    assert_eq!((width, height), (1280, 2000));
    assert!(
        png.len() > 40_000,
        "a screenshot of {} bytes: blank?",
        png.len()
    );
}

#[test]
fn html_needs_out_and_out_writes_every_format() {
    let w = Work::new();
    w.create_database();
    let bad = w.run(&["report", "--format", "html"]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("--out <FILE>"), "{}", bad.stderr);
    assert_eq!(bad.stdout, "");
    let bad = w.run(&["report", "--format", "json", "--out", ""]);
    assert_eq!(bad.code, 2, "{}", bad.stderr);

    // --out works with every format: the file is what stdout would have had, owner-only
    // whatever the umask, and replaced whole on the next run.
    for (format, file, starts) in [
        ("json", "r.json", "{"),
        ("csv", "r.csv", "section,key,name,value,"),
        ("table", "r.txt", "Report on orders placed since "),
        ("html", "r.html", "<!DOCTYPE html>"),
    ] {
        std::fs::write(
            w.path(file),
            "an older report, much longer than the new one".repeat(500),
        )
        .unwrap();
        let r = w.run_with_umask("000", &["report", "--format", format, "--out", file]);
        assert_eq!(r.code, 0, "{format}: {}", r.stderr);
        assert_eq!(r.stdout, format!("report written to {file}\n"));
        let text = std::fs::read_to_string(w.path(file)).unwrap();
        assert!(text.starts_with(starts), "{format}: {text}");
        assert!(!text.contains("an older report"));
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(w.path(file)).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600, "{format}");
    }
    let from_file: Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("r.json")).unwrap()).unwrap();
    let from_stdout = report_json(&w, &[]);
    assert_eq!(from_file["by_status"], from_stdout["by_status"]);
    assert_eq!(from_file["orders_per_day"], json!([]));
    assert_eq!(from_file["sla_breaches_per_day"], json!([]));
    let names: Vec<String> = std::fs::read_dir(w.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");

    let r = w.run(&[
        "report",
        "--format",
        "html",
        "--out",
        "no/such/folder/r.html",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("does not exist"), "{}", r.stderr);

    // An empty period: a page that says so, without charts, and the browser renders it.
    let html = std::fs::read_to_string(w.path("r.html")).unwrap();
    assert!(html.contains("There were no orders in this period."));
    assert!(!html.contains("<svg"));
    let dom = String::from_utf8(chromium(
        &w,
        "empty",
        &["--dump-dom".to_string()],
        &w.path("r.html"),
    ))
    .unwrap();
    assert!(
        dom.contains("There were no orders in this period."),
        "{dom}"
    );
    assert!(bars_in(&dom).is_empty());
}
