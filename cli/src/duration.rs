//! Durations on the command line: `90m`, `12h`, `7d`, `2w`, or several
//! joined (`1d12h`).

/// Milliseconds in `text`, a sequence of `<number><unit>` with units
/// `m` (minutes), `h` (hours), `d` (days) and `w` (weeks).
pub(crate) fn parse_duration(text: &str) -> Result<u64, String> {
    let s = text.trim();
    let usage = || format!("{text:?} is not a duration: write it like 90m, 12h, 7d or 2w");
    if s.is_empty() {
        return Err(usage());
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit_ms: u64 = match c {
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => 86_400_000,
            'w' => 7 * 86_400_000,
            _ => return Err(usage()),
        };
        if digits.is_empty() {
            return Err(usage());
        }
        let n: u64 = digits.parse().map_err(|_| usage())?;
        digits.clear();
        total = n
            .checked_mul(unit_ms)
            .and_then(|ms| total.checked_add(ms))
            .ok_or_else(|| format!("{text:?} is far too long a duration"))?;
    }
    if !digits.is_empty() {
        return Err(format!("{text:?} has no unit: write {digits}m, {digits}h or {digits}d"));
    }
    if total == 0 {
        return Err(format!("{text:?} is no time at all"));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_combinations() {
        assert_eq!(parse_duration("90m"), Ok(90 * 60_000));
        assert_eq!(parse_duration("12h"), Ok(12 * 3_600_000));
        assert_eq!(parse_duration("7d"), Ok(7 * 86_400_000));
        assert_eq!(parse_duration("2w"), Ok(14 * 86_400_000));
        assert_eq!(parse_duration(" 1d12h "), Ok(36 * 3_600_000));
        assert_eq!(parse_duration("1h30m"), Ok(90 * 60_000));
    }

    #[test]
    fn mistakes_are_explained() {
        for bad in ["", "7", "d", "7x", "7 d", "-7d", "1.5h", "h7"] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert!(parse_duration("7").unwrap_err().contains("7d"));
        assert!(parse_duration("0d").unwrap_err().contains("no time"));
        assert!(parse_duration("99999999999999999999w").is_err());
        assert!(parse_duration("9999999999999999w").unwrap_err().contains("too long"));
    }
}
