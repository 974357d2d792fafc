//! Units in the config and on the command line: durations (`90s`, `5m`, `2h`, `30d`).
//! Here so that the config, which declares them, and the CLI, which takes them as flags,
//! share one parser without the config depending on the CLI.

/// Parses `90s`, `5m`, `2h`, `1d`, `1w` (a bare number is seconds).
pub fn parse_duration(s: &str) -> Result<chrono::Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: i64 = num.parse().map_err(|_| format!("`{s}` is not a duration; use e.g. 30s, 5m, 2h, 30d"))?;
    let d = match unit {
        "" | "s" => chrono::Duration::seconds(n),
        "m" | "min" => chrono::Duration::minutes(n),
        "h" => chrono::Duration::hours(n),
        "d" => chrono::Duration::days(n),
        "w" => chrono::Duration::weeks(n),
        _ => return Err(format!("`{s}`: unknown unit `{unit}`; use s, m, h, d or w")),
    };
    if n <= 0 {
        return Err(format!("`{s}`: a duration must be positive"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units_and_refuse_nonsense() {
        assert_eq!(parse_duration("90s").unwrap(), chrono::Duration::seconds(90));
        assert_eq!(parse_duration("5m").unwrap(), chrono::Duration::minutes(5));
        assert_eq!(parse_duration("30d").unwrap(), chrono::Duration::days(30));
        assert_eq!(parse_duration("2").unwrap(), chrono::Duration::seconds(2));
        assert!(parse_duration("0s").unwrap_err().contains("positive"));
        assert!(parse_duration("5 parsecs").is_err());
    }
}
