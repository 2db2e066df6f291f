//! Norwegian public holidays (helligdager) and working days, for the delivery deadline.
//!
//! The public holidays of the Lov om helligdager og helligdagsfred, plus the two statutory
//! public holidays of 1 and 17 May: New Year's Day (1 Jan), Maundy Thursday (skjærtorsdag),
//! Good Friday (langfredag), Easter Sunday and Monday, 1 May, 17 May, Ascension Day (Kristi
//! himmelfartsdag, Easter + 39), Whit Sunday and Whit Monday (pinse, Easter + 49 and + 50),
//! Christmas Day and Boxing Day (25 and 26 Dec). Every Sunday is a holiday too; a working day
//! is Monday to Friday and not one of these. Christmas Eve and New Year's Eve are ordinary
//! days in law (many offices close early, but the post runs).

use chrono::{Datelike, Days, NaiveDate, Weekday};

/// Easter Sunday of a year in the Gregorian calendar, by the anonymous Gregorian algorithm
/// (Meeus/Jones/Butcher).
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32)
        .expect("the algorithm gives a day in March or April")
}

/// The public holidays of a year, in date order, with their Norwegian names.
pub fn holidays(year: i32) -> Vec<(NaiveDate, &'static str)> {
    let fixed = |month, day| NaiveDate::from_ymd_opt(year, month, day).expect("a real date");
    let easter = easter_sunday(year);
    let from_easter = |days: i64| easter + chrono::Duration::days(days);
    let mut days = vec![
        (fixed(1, 1), "1. nyttårsdag"),
        (from_easter(-3), "skjærtorsdag"),
        (from_easter(-2), "langfredag"),
        (easter, "1. påskedag"),
        (from_easter(1), "2. påskedag"),
        (fixed(5, 1), "offentlig høytidsdag"),
        (fixed(5, 17), "grunnlovsdag"),
        (from_easter(39), "Kristi himmelfartsdag"),
        (from_easter(49), "1. pinsedag"),
        (from_easter(50), "2. pinsedag"),
        (fixed(12, 25), "1. juledag"),
        (fixed(12, 26), "2. juledag"),
    ];
    // Ascension Day or Whit Monday can fall on 1 or 17 May: keep each date once.
    days.sort_by_key(|(d, _)| *d);
    days.dedup_by_key(|(d, _)| *d);
    days
}

/// Whether the date is one of the public holidays (Sundays that are not also one of them do
/// not count here; see [`is_working_day`]).
pub fn is_holiday(date: NaiveDate) -> bool {
    let (month, day) = (date.month(), date.day());
    if matches!(
        (month, day),
        (1, 1) | (5, 1) | (5, 17) | (12, 25) | (12, 26)
    ) {
        return true;
    }
    let from_easter = (date - easter_sunday(date.year())).num_days();
    matches!(from_easter, -3 | -2 | 0 | 1 | 39 | 49 | 50)
}

/// Monday to Friday and not a public holiday.
pub fn is_working_day(date: NaiveDate) -> bool {
    !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) && !is_holiday(date)
}

/// The `n`th working day after `start`: counting starts the day after `start`, and only
/// working days are counted; `start` itself never counts, whether it is a working day or not.
/// `n = 0` gives `start`.
///
/// An order placed on day D must be posted by the end of `add_working_days(D, 3)`: placed on
/// Monday 2026-03-30, the days counted are Tuesday 31, Wednesday 1 April and (past Maundy
/// Thursday, Good Friday, the weekend and Easter Monday) Tuesday 7 April.
pub fn add_working_days(start: NaiveDate, n: u32) -> NaiveDate {
    let mut date = start;
    let mut left = n;
    while left > 0 {
        date = next_day(date);
        if is_working_day(date) {
            left -= 1;
        }
    }
    date
}

/// The number of working days `d` with `from < d <= to` (0 when `to <= from`).
pub fn working_days_between(from: NaiveDate, to: NaiveDate) -> u32 {
    let mut count = 0;
    let mut date = from;
    while date < to {
        date = next_day(date);
        if is_working_day(date) {
            count += 1;
        }
    }
    count
}

/// The date itself if it is a working day, else the next working day.
pub fn next_working_day_from(date: NaiveDate) -> NaiveDate {
    let mut date = date;
    while !is_working_day(date) {
        date = next_day(date);
    }
    date
}

fn next_day(date: NaiveDate) -> NaiveDate {
    date.checked_add_days(Days::new(1))
        .expect("dates stay far from chrono's limits")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn easter_sundays() {
        for (year, date) in [
            (1961, "1961-04-02"),
            (2000, "2000-04-23"),
            (2008, "2008-03-23"),
            (2011, "2011-04-24"),
            (2019, "2019-04-21"),
            (2024, "2024-03-31"),
            (2025, "2025-04-20"),
            (2026, "2026-04-05"),
            (2027, "2027-03-28"),
            (2038, "2038-04-25"),
            (2285, "2285-03-22"),
        ] {
            assert_eq!(easter_sunday(year), d(date), "{year}");
        }
    }

    #[test]
    fn the_holidays_of_2026() {
        let got: Vec<String> = holidays(2026).iter().map(|(d, _)| d.to_string()).collect();
        assert_eq!(
            got,
            [
                "2026-01-01",
                "2026-04-02",
                "2026-04-03",
                "2026-04-05",
                "2026-04-06",
                "2026-05-01",
                "2026-05-14",
                "2026-05-17",
                "2026-05-24",
                "2026-05-25",
                "2026-12-25",
                "2026-12-26",
            ]
        );
        for (date, name) in holidays(2026) {
            assert!(is_holiday(date), "{date} {name}");
        }
        for not in [
            "2026-12-24",
            "2026-12-31",
            "2026-04-01",
            "2026-04-07",
            "2026-05-18",
        ] {
            assert!(!is_holiday(d(not)), "{not}");
        }
    }

    #[test]
    fn holidays_on_the_same_day_count_once() {
        // Easter 2008 was 23 March: Ascension Day on 1 May.
        assert_eq!(holidays(2008).len(), 11);
        assert!(is_holiday(d("2008-05-01")));
        // Easter 2007 was 8 April: Ascension Day on 17 May.
        assert_eq!(holidays(2007).len(), 11);
        // Easter 2027 is 28 March: Whit Monday on 17 May.
        assert_eq!(holidays(2027).len(), 11);
        assert!(is_holiday(d("2027-05-17")));
        assert_eq!(holidays(2026).len(), 12);
        // The latest Easter (25 April 2038): Ascension Day on 3 June.
        assert!(is_holiday(d("2038-06-03")));
    }

    #[test]
    fn working_days() {
        assert!(is_working_day(d("2026-03-30"))); // Monday
        assert!(!is_working_day(d("2026-03-28"))); // Saturday
        assert!(!is_working_day(d("2026-03-29"))); // Sunday
        assert!(!is_working_day(d("2026-04-02"))); // Maundy Thursday
        assert!(!is_working_day(d("2026-05-14"))); // Ascension Day
        assert!(!is_working_day(d("2026-05-25"))); // Whit Monday
        assert!(is_working_day(d("2026-12-24"))); // Christmas Eve, a Thursday
    }

    #[test]
    fn the_third_working_day() {
        for (ordered, deadline) in [
            ("2026-11-23", "2026-11-26"), // Monday → Thursday
            ("2026-11-26", "2026-12-01"), // Thursday → Tuesday
            ("2026-11-28", "2026-12-02"), // Saturday → Wednesday
            ("2026-11-29", "2026-12-02"), // Sunday → Wednesday
            ("2026-03-30", "2026-04-07"), // across Easter
            ("2026-04-02", "2026-04-09"), // ordered on Maundy Thursday
            ("2026-05-08", "2026-05-13"), // Friday, before Ascension Day
            ("2026-05-12", "2026-05-18"), // Ascension Day, 17 May on a Sunday
            ("2026-05-20", "2026-05-26"), // across Whit Monday
            ("2026-12-23", "2026-12-29"), // Christmas
            ("2026-12-30", "2027-01-05"), // New Year
        ] {
            assert_eq!(add_working_days(d(ordered), 3), d(deadline), "{ordered}");
        }
        assert_eq!(add_working_days(d("2026-04-04"), 0), d("2026-04-04"));
        assert_eq!(add_working_days(d("2026-04-04"), 1), d("2026-04-07"));
    }

    #[test]
    fn working_days_in_between() {
        assert_eq!(working_days_between(d("2026-04-07"), d("2026-04-08")), 1);
        assert_eq!(working_days_between(d("2026-04-07"), d("2026-04-07")), 0);
        assert_eq!(working_days_between(d("2026-04-08"), d("2026-04-07")), 0);
        // Thursday 14 May is Ascension Day, 17 May a Sunday: Friday 15 and Monday 18.
        assert_eq!(working_days_between(d("2026-05-13"), d("2026-05-18")), 2);
        assert_eq!(next_working_day_from(d("2026-04-02")), d("2026-04-07"));
        assert_eq!(next_working_day_from(d("2026-04-07")), d("2026-04-07"));
    }

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        (0i64..60_000).prop_map(|n| d("1900-01-01") + chrono::Duration::days(n))
    }

    proptest! {
        #[test]
        fn lands_on_a_working_day_after_start(start in any_date(), n in 1u32..40) {
            let end = add_working_days(start, n);
            prop_assert!(is_working_day(end));
            prop_assert!(end > start);
            prop_assert_eq!(working_days_between(start, end), n);
            // Weekends and holidays never stretch n working days beyond 2n + 7 calendar days.
            prop_assert!((end - start).num_days() <= i64::from(n) * 2 + 7);
        }

        #[test]
        fn is_monotone(a in any_date(), gap in 0i64..30, n in 0u32..20, more in 0u32..5) {
            let b = a + chrono::Duration::days(gap);
            prop_assert!(add_working_days(a, n) <= add_working_days(b, n));
            prop_assert!(add_working_days(a, n) <= add_working_days(a, n + more));
        }

        #[test]
        fn composes(start in any_date(), n in 0u32..15, m in 0u32..15) {
            prop_assert_eq!(
                add_working_days(add_working_days(start, n), m),
                add_working_days(start, n + m)
            );
        }

        #[test]
        fn is_holiday_agrees_with_the_list(year in 1900i32..2200, day in 0u32..365) {
            let date = NaiveDate::from_yo_opt(year, day + 1).unwrap();
            let listed = holidays(year).iter().any(|(h, _)| *h == date);
            prop_assert_eq!(is_holiday(date), listed);
            prop_assert!(easter_sunday(year) >= NaiveDate::from_ymd_opt(year, 3, 22).unwrap());
            prop_assert!(easter_sunday(year) <= NaiveDate::from_ymd_opt(year, 4, 25).unwrap());
            prop_assert_eq!(easter_sunday(year).weekday(), Weekday::Sun);
        }
    }
}
