//! Counts as a person reads them: "1 new order", "2 new orders", "1 person", "3 people".

/// `n` followed by the singular or the plural, as `n` asks: `count(1, "order", "orders")` is
/// "1 order", `count(0, "order", "orders")` "0 orders".
pub fn count<N>(n: N, singular: &str, plural: &str) -> String
where
    N: TryInto<u64> + Copy + std::fmt::Display,
{
    let one = matches!(n.try_into(), Ok(1));
    format!("{n} {}", if one { singular } else { plural })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular_and_every_other_number_plural() {
        assert_eq!(count(1u64, "new order", "new orders"), "1 new order");
        assert_eq!(count(0i64, "new order", "new orders"), "0 new orders");
        assert_eq!(count(2u32, "person", "people"), "2 people");
        assert_eq!(count(1usize, "row error", "row errors"), "1 row error");
        assert_eq!(count(11u64, "letter", "letters"), "11 letters");
    }
}
