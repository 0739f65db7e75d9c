//! IP address syntax and classification (match-expressions §4.9).
//!
//! Parsing is strict (no leading zeros in IPv4 octets, zone index allowed
//! and ignored in IPv6, no brackets, no whitespace). The private table is
//! pinned to the classification of Python 3.11.7's `ipaddress` module, so
//! results never drift with a library version.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::LazyLock;

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// Parses an address exactly as the spec's syntax allows.
pub fn parse_addr(s: &str) -> Option<IpAddr> {
    if s.contains(':') {
        let (addr, zone) = match s.split_once('%') {
            Some((a, z)) => (a, Some(z)),
            None => (s, None),
        };
        if zone.is_some_and(|z| z.is_empty() || z.contains('%')) {
            return None;
        }
        // The embedded IPv4 part of an IPv6 address follows the IPv4 rules.
        if let Some(i) = addr.rfind(':') {
            let tail = &addr[i + 1..];
            if tail.contains('.') && parse_v4(tail).is_none() {
                return None;
            }
        }
        addr.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
    } else {
        parse_v4(s).map(IpAddr::V4)
    }
}

fn parse_v4(s: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut n = 0;
    for part in s.split('.') {
        if n == 4 || part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if part.len() > 1 && part.starts_with('0') {
            return None;
        }
        octets[n] = part.parse().ok()?;
        n += 1;
    }
    (n == 4).then(|| Ipv4Addr::from(octets))
}

/// Parses a CIDR block: an address, optionally `/prefix` (or, for IPv4, a
/// dotted netmask or host mask). Host bits are cleared.
pub fn parse_cidr(s: &str) -> Option<IpNet> {
    let (addr, mask) = match s.split_once('/') {
        Some((a, m)) => (a, Some(m)),
        None => (s, None),
    };
    let addr = parse_addr(addr)?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match mask {
        None => max,
        Some(m) if !m.is_empty() && m.bytes().all(|b| b.is_ascii_digit()) => {
            let p: u32 = m.trim_start_matches('0').parse().unwrap_or(0);
            if m.len() > 3 && p > 0 && m.trim_start_matches('0').len() > 3 {
                return None;
            }
            u8::try_from(p).ok().filter(|p| *p <= max)?
        }
        Some(m) if addr.is_ipv4() => mask_prefix(parse_v4(m)?)?,
        Some(_) => return None,
    };
    IpNet::new(addr, prefix).ok().map(|n| n.trunc())
}

fn mask_prefix(mask: Ipv4Addr) -> Option<u8> {
    let m = u32::from(mask);
    if m.leading_ones() + m.trailing_zeros() == 32 {
        return Some(m.leading_ones() as u8);
    }
    // A host mask (0.255.255.255) is the inverse of a netmask.
    let inv = !m;
    (inv.leading_ones() + inv.trailing_zeros() == 32).then(|| inv.leading_ones() as u8)
}

static PRIVATE_V4: LazyLock<Vec<Ipv4Net>> = LazyLock::new(|| {
    [
        "0.0.0.0/8",
        "10.0.0.0/8",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/29",
        "192.0.0.170/31",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "240.0.0.0/4",
        "255.255.255.255/32",
    ]
    .iter()
    .filter_map(|n| n.parse().ok())
    .collect()
});

static PRIVATE_V6: LazyLock<Vec<Ipv6Net>> = LazyLock::new(|| {
    [
        "::1/128",
        "::/128",
        "100::/64",
        "2001::/23",
        "2001:2::/48",
        "2001:db8::/32",
        "2001:10::/28",
        "fc00::/7",
        "fe80::/10",
    ]
    .iter()
    .filter_map(|n| n.parse().ok())
    .collect()
});

static SHARED_V4: LazyLock<Option<Ipv4Net>> = LazyLock::new(|| "100.64.0.0/10".parse().ok());

fn mapped(a: &Ipv6Addr) -> Option<Ipv4Addr> {
    let s = a.segments();
    (s[..5] == [0, 0, 0, 0, 0] && s[5] == 0xffff)
        .then(|| a.to_ipv4_mapped())
        .flatten()
}

/// Whether an address is in the pinned private table.
pub fn is_private(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v4) => PRIVATE_V4.iter().any(|n| n.contains(&v4)),
        IpAddr::V6(v6) => match mapped(&v6) {
            Some(v4) => is_private(IpAddr::V4(v4)),
            None => PRIVATE_V6.iter().any(|n| n.contains(&v6)),
        },
    }
}

/// Whether an address is public: not private, and (plain IPv4) not in the
/// shared address space `100.64.0.0/10`.
pub fn is_public(a: IpAddr) -> bool {
    if is_private(a) {
        return false;
    }
    match a {
        IpAddr::V4(v4) => !SHARED_V4.is_some_and(|n| n.contains(&v4)),
        IpAddr::V6(_) => true,
    }
}

/// Whether two blocks of the same version overlap.
pub fn overlaps(a: &IpNet, b: &IpNet) -> bool {
    match (a, b) {
        (IpNet::V4(x), IpNet::V4(y)) => x.contains(&y.network()) || y.contains(&x.network()),
        (IpNet::V6(x), IpNet::V6(y)) => x.contains(&y.network()) || y.contains(&x.network()),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_syntax() {
        for ok in [
            "10.0.0.1",
            "0.0.0.0",
            "2001:db8::1",
            "::ffff:10.0.0.1",
            "fe80::1%eth0",
            "::1",
        ] {
            assert!(parse_addr(ok).is_some(), "{ok}");
        }
        for bad in [
            "10.0.0.256",
            "010.0.0.1",
            "10.0.0.1/32",
            " 10.0.0.1",
            "[::1]",
            "1.2.3",
            "2001:db8::g",
            "fe80::1%",
        ] {
            assert!(parse_addr(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn cidr_syntax() {
        assert_eq!(
            parse_cidr("192.168.1.77/24").map(|n| n.to_string()),
            Some("192.168.1.0/24".into())
        );
        assert_eq!(
            parse_cidr("10.0.0.0/255.0.0.0").map(|n| n.to_string()),
            Some("10.0.0.0/8".into())
        );
        assert_eq!(
            parse_cidr("10.0.0.0/0.255.255.255").map(|n| n.to_string()),
            Some("10.0.0.0/8".into())
        );
        assert_eq!(parse_cidr("8.8.8.8").map(|n| n.to_string()), Some("8.8.8.8/32".into()));
        assert!(parse_cidr("10.0.0.0/33").is_none());
        assert!(parse_cidr("2001:db8::/129").is_none());
        assert!(parse_cidr("2001:db8::/32").is_some());
        assert!(parse_cidr("10.0.0.0/").is_none());
    }

    #[test]
    fn classification_table() {
        let p = |s: &str| parse_addr(s).unwrap();
        assert!(is_private(p("172.31.255.255")));
        assert!(!is_private(p("172.32.0.1")));
        assert!(!is_private(p("100.64.0.1")) && !is_public(p("100.64.0.1")));
        assert!(is_public(p("224.0.0.1")));
        assert!(is_private(p("::ffff:192.168.1.1")));
        assert!(is_public(p("::ffff:8.8.8.8")));
        assert!(!is_public(p("fe80::1")));
        assert!(is_private(p("2001:db8::1")));
    }
}
