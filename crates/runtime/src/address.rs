//! Which network addresses outbound calls may reach. A guest's request leaves only for a
//! public unicast address: loopback, private, link-local (cloud metadata), carrier-grade NAT,
//! multicast, documentation and reserved ranges are refused, in every way they can be written
//! (IPv4-mapped, IPv4-compatible, NAT64 and 6to4 IPv6, and the short, decimal, octal and hex
//! IPv4 forms), unless the operator allows a range by name.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use ipnet::IpNet;

/// What kind of address an IP is, for deciding whether a guest may reach it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AddressClass {
    /// A public unicast address: the only kind outbound calls reach by default.
    Public,
    /// 0.0.0.0 and `::`: "this host" on most systems.
    Unspecified,
    /// 127/8 and ::1.
    Loopback,
    /// RFC 1918 (10/8, 172.16/12, 192.168/16) and the deprecated IPv6 site-local fec0::/10.
    Private,
    /// 100.64/10, RFC 6598.
    CarrierGradeNat,
    /// 169.254/16 (cloud metadata lives here) and fe80::/10.
    LinkLocal,
    /// fc00::/7.
    UniqueLocal,
    /// 224/4 and ff00::/8.
    Multicast,
    /// 255.255.255.255.
    Broadcast,
    /// 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20.
    Documentation,
    /// 198.18/15, 2001:2::/48.
    Benchmarking,
    /// Anything else not routable on the internet: 0/8, 192.0.0/24, 240/4, unassigned IPv6.
    Reserved,
}

impl AddressClass {
    /// The class as the end of "127.0.0.1 is …".
    pub fn describe(self) -> &'static str {
        match self {
            Self::Public => "a public address",
            Self::Unspecified => "the unspecified address",
            Self::Loopback => "a loopback address",
            Self::Private => "a private network address",
            Self::CarrierGradeNat => "a carrier-grade NAT address",
            Self::LinkLocal => "a link-local address (where cloud metadata services answer)",
            Self::UniqueLocal => "a unique-local (private) IPv6 address",
            Self::Multicast => "a multicast address",
            Self::Broadcast => "the broadcast address",
            Self::Documentation => "a documentation address",
            Self::Benchmarking => "a benchmarking address",
            Self::Reserved => "a reserved address",
        }
    }
}

/// Classifies an address, looking through the IPv6 forms that carry an IPv4 address.
pub fn classify(ip: IpAddr) -> AddressClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddressClass {
    let [a, b, c, _] = ip.octets();
    match (a, b, c) {
        _ if ip.is_unspecified() => AddressClass::Unspecified,
        _ if ip.is_broadcast() => AddressClass::Broadcast,
        (0, _, _) => AddressClass::Reserved,
        (10, _, _) | (172, 16..=31, _) | (192, 168, _) => AddressClass::Private,
        (100, 64..=127, _) => AddressClass::CarrierGradeNat,
        (127, _, _) => AddressClass::Loopback,
        (169, 254, _) => AddressClass::LinkLocal,
        (192, 0, 0) | (192, 88, 99) => AddressClass::Reserved,
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => AddressClass::Documentation,
        (198, 18..=19, _) => AddressClass::Benchmarking,
        (224..=239, _, _) => AddressClass::Multicast,
        (240..=255, _, _) => AddressClass::Reserved,
        _ => AddressClass::Public,
    }
}

fn classify_v6(ip: Ipv6Addr) -> AddressClass {
    if ip.is_unspecified() {
        return AddressClass::Unspecified;
    }
    if ip.is_loopback() {
        return AddressClass::Loopback;
    }
    if let Some(v4) = embedded_v4(ip) {
        return match classify_v4(v4) {
            // An IPv4-compatible address (::a.b.c.d) is deprecated and never routed.
            AddressClass::Public if ip.segments()[..6] == [0; 6] => AddressClass::Reserved,
            class => class,
        };
    }
    let segments = ip.segments();
    let first = segments[0];
    if first & 0xe000 != 0x2000 {
        // Outside 2000::/3 nothing is global unicast.
        return match first {
            _ if first & 0xfe00 == 0xfc00 => AddressClass::UniqueLocal,
            _ if first & 0xffc0 == 0xfe80 => AddressClass::LinkLocal,
            _ if first & 0xffc0 == 0xfec0 => AddressClass::Private,
            _ if first & 0xff00 == 0xff00 => AddressClass::Multicast,
            _ => AddressClass::Reserved,
        };
    }
    match (first, segments[1]) {
        (0x2001, 0x0db8) => AddressClass::Documentation,
        (0x2001, 0x0002) if segments[2] == 0 => AddressClass::Benchmarking,
        // 2001::/23: IETF protocol assignments (Teredo, ORCHID, …).
        (0x2001, second) if second < 0x0200 => AddressClass::Reserved,
        (0x3fff, second) if second < 0x1000 => AddressClass::Documentation,
        _ => AddressClass::Public,
    }
}

/// The IPv4 address inside an IPv4-mapped (::ffff:0:0/96), IPv4-compatible (::/96), NAT64
/// (64:ff9b::/96, 64:ff9b:1::/48) or 6to4 (2002::/16) IPv6 address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] | [0, 0, 0, 0, 0, 0, _, _] => Some(low),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] | [0x64, 0xff9b, 1, ..] => Some(low),
        [0x2002, high, low16, ..] => Some(Ipv4Addr::new(
            (high >> 8) as u8,
            high as u8,
            (low16 >> 8) as u8,
            low16 as u8,
        )),
        _ => None,
    }
}

/// Reads a URL host as an IP address the way browsers and C libraries do: bracketed or bare
/// IPv6, and IPv4 in its dotted, short (`127.1`), decimal (`2130706433`), octal (`0177.0.0.1`)
/// and hex (`0x7f.1`) forms. `Ok(None)` is a host name; a host that ends in a number but is no
/// valid IPv4 address is an error, since resolvers disagree about what it means.
pub fn parse_ip_host(host: &str) -> Result<Option<IpAddr>, String> {
    if let Some(inner) = host.strip_prefix('[') {
        let inner = inner
            .strip_suffix(']')
            .ok_or_else(|| format!("{host:?} is not a valid IPv6 literal"))?;
        return inner
            .parse::<Ipv6Addr>()
            .map(|ip| Some(IpAddr::V6(ip)))
            .map_err(|_| format!("{host:?} is not a valid IPv6 literal"));
    }
    if let Ok(ip) = host.parse::<Ipv6Addr>() {
        return Ok(Some(IpAddr::V6(ip)));
    }
    let trimmed = host.strip_suffix('.').unwrap_or(host);
    let parts: Vec<&str> = trimmed.split('.').collect();
    let last = parts.last().copied().unwrap_or_default();
    if parse_ipv4_number(last).is_none() && !is_numeric_looking(last) {
        return Ok(None);
    }
    parse_ipv4_parts(&parts)
        .map(|ip| Some(IpAddr::V4(ip)))
        .ok_or_else(|| format!("{host:?} looks like an IPv4 address but is not a valid one"))
}

fn is_numeric_looking(part: &str) -> bool {
    !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit())
}

/// `a.b.c.d`, `a.b.c` (c fills 16 bits), `a.b` (b fills 24 bits) or `a` (32 bits), each part
/// decimal, octal (leading 0) or hex (leading 0x).
fn parse_ipv4_parts(parts: &[&str]) -> Option<Ipv4Addr> {
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let numbers: Vec<u64> = parts
        .iter()
        .map(|part| parse_ipv4_number(part))
        .collect::<Option<_>>()?;
    let (last, leading) = numbers.split_last()?;
    if leading.iter().any(|&n| n > 255) {
        return None;
    }
    let last_bits = 8 * (5 - numbers.len()) as u32;
    if *last >= 1u64 << last_bits {
        return None;
    }
    let mut value = *last;
    for (index, &n) in leading.iter().enumerate() {
        value |= n << (8 * (3 - index));
    }
    Some(Ipv4Addr::from(value as u32))
}

fn parse_ipv4_number(part: &str) -> Option<u64> {
    if part.is_empty() {
        return None;
    }
    let (digits, radix) =
        if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
            (hex, 16)
        } else if part.len() > 1 && part.starts_with('0') {
            (&part[1..], 8)
        } else {
            (part, 10)
        };
    if digits.is_empty() {
        // `0x` alone is zero, as in browsers.
        return (radix == 16).then_some(0);
    }
    if digits.len() > 12 {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// An address range the operator lets outbound calls reach although it is not public, written
/// as a CIDR (`10.0.0.0/8`) or a single address (`127.0.0.1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AddressRange(IpNet);

impl AddressRange {
    /// Whether `ip` lies in the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.0.contains(&ip)
    }
}

impl FromStr for AddressRange {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if let Ok(net) = text.parse::<IpNet>() {
            return Ok(Self(net.trunc()));
        }
        text.parse::<IpAddr>()
            .map(|ip| Self(IpNet::from(ip)))
            .map_err(|_| {
                format!("{text:?} is not an address range (a CIDR like 10.0.0.0/8, or an address)")
            })
    }
}

impl fmt::Display for AddressRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Why an address may not be reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Forbidden {
    pub address: IpAddr,
    pub class: AddressClass,
}

impl fmt::Display for Forbidden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} is {}; outbound calls may not reach loopback, private, link-local or reserved \
             addresses unless the server's operator allows the range",
            self.address,
            self.class.describe()
        )
    }
}

/// Decides on an address: public addresses pass, others only inside an allowed range. An
/// IPv4-mapped IPv6 address is judged (and matched against the ranges) as its IPv4 address.
pub fn check_address(ip: IpAddr, allowed: &[AddressRange]) -> Result<IpAddr, Forbidden> {
    let ip = ip.to_canonical();
    let class = classify(ip);
    if class == AddressClass::Public || allowed.iter().any(|range| range.contains(ip)) {
        return Ok(ip);
    }
    Err(Forbidden { address: ip, class })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class_of(host: &str) -> AddressClass {
        let ip = parse_ip_host(host)
            .unwrap_or_else(|error| panic!("{host}: {error}"))
            .unwrap_or_else(|| panic!("{host} is read as an address"));
        classify(ip.to_canonical())
    }

    #[test]
    fn every_way_of_writing_loopback_is_loopback() {
        for host in [
            "127.0.0.1",
            "127.1",
            "127.0.1",
            "2130706433",
            "0x7f000001",
            "0x7f.1",
            "0177.0.0.1",
            "017700000001",
            "127.0.0.1.",
            "127.255.255.254",
            "[::1]",
            "::1",
            "[::ffff:127.0.0.1]",
            "[::ffff:7f00:1]",
            "[::127.0.0.1]",
            "[64:ff9b::127.0.0.1]",
            "[2002:7f00:1::]",
            "[0:0:0:0:0:ffff:127.0.0.1]",
        ] {
            assert_eq!(class_of(host), AddressClass::Loopback, "{host}");
        }
    }

    #[test]
    fn unspecified_addresses_are_refused_in_every_form() {
        for host in ["0.0.0.0", "0", "0x0", "[::]", "::", "[::ffff:0.0.0.0]"] {
            assert_eq!(class_of(host), AddressClass::Unspecified, "{host}");
        }
    }

    #[test]
    fn private_link_local_and_metadata_ranges_are_classified() {
        let cases = [
            ("10.1.2.3", AddressClass::Private),
            ("172.16.0.1", AddressClass::Private),
            ("172.31.255.255", AddressClass::Private),
            ("192.168.1.1", AddressClass::Private),
            ("3232235777", AddressClass::Private),
            ("169.254.169.254", AddressClass::LinkLocal),
            ("0xa9fea9fe", AddressClass::LinkLocal),
            ("[::ffff:169.254.169.254]", AddressClass::LinkLocal),
            ("[fe80::1]", AddressClass::LinkLocal),
            ("[fd00:ec2::254]", AddressClass::UniqueLocal),
            ("[fc00::1]", AddressClass::UniqueLocal),
            ("[fec0::1]", AddressClass::Private),
            ("100.64.0.1", AddressClass::CarrierGradeNat),
            ("100.127.255.255", AddressClass::CarrierGradeNat),
            ("224.0.0.1", AddressClass::Multicast),
            ("[ff02::1]", AddressClass::Multicast),
            ("255.255.255.255", AddressClass::Broadcast),
            ("192.0.2.1", AddressClass::Documentation),
            ("198.51.100.7", AddressClass::Documentation),
            ("203.0.113.9", AddressClass::Documentation),
            ("[2001:db8::1]", AddressClass::Documentation),
            ("198.18.0.1", AddressClass::Benchmarking),
            ("0.1.2.3", AddressClass::Reserved),
            ("192.0.0.8", AddressClass::Reserved),
            ("240.0.0.1", AddressClass::Reserved),
            ("[2001::1]", AddressClass::Reserved),
            ("[100::1]", AddressClass::Reserved),
            ("[64:ff9b::10.0.0.1]", AddressClass::Private),
            ("[64:ff9b:1::a00:1]", AddressClass::Private),
            ("[2002:a9fe:a9fe::]", AddressClass::LinkLocal),
            ("[::8.8.8.8]", AddressClass::Reserved),
        ];
        for (host, class) in cases {
            assert_eq!(class_of(host), class, "{host}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for host in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "[2606:4700:4700::1111]",
            "[::ffff:8.8.8.8]",
            "[64:ff9b::8.8.8.8]",
            "[2002:808:808::]",
        ] {
            assert_eq!(class_of(host), AddressClass::Public, "{host}");
        }
    }

    #[test]
    fn host_names_are_not_addresses_and_broken_numbers_are_errors() {
        for name in [
            "example.com",
            "localhost",
            "a1.example",
            "1.example.com",
            "x",
        ] {
            assert_eq!(parse_ip_host(name), Ok(None), "{name}");
        }
        for broken in [
            "1.2.3.4.5",
            "256.1.1.1",
            "127.0.0.256",
            "4294967296",
            "09.1",
            "[::1",
        ] {
            assert!(parse_ip_host(broken).is_err(), "{broken}");
        }
    }

    #[test]
    fn allowed_ranges_let_only_their_addresses_through() {
        let allowed: Vec<AddressRange> = ["10.0.0.0/8", "127.0.0.1"]
            .iter()
            .map(|text| text.parse().expect("range"))
            .collect();
        let ip = |text: &str| text.parse::<IpAddr>().expect("address");
        assert!(check_address(ip("10.9.8.7"), &allowed).is_ok());
        assert!(check_address(ip("127.0.0.1"), &allowed).is_ok());
        assert_eq!(
            check_address(ip("::ffff:127.0.0.1"), &allowed),
            Ok(ip("127.0.0.1"))
        );
        let refused = check_address(ip("127.0.0.2"), &allowed).expect_err("outside the ranges");
        assert_eq!(refused.class, AddressClass::Loopback);
        assert!(
            refused
                .to_string()
                .starts_with("127.0.0.2 is a loopback address; outbound calls may not reach")
        );
        assert!(check_address(ip("169.254.169.254"), &[]).is_err());
        assert!(check_address(ip("93.184.215.14"), &[]).is_ok());
    }

    #[test]
    fn address_ranges_parse_cidrs_and_single_addresses() {
        let range: AddressRange = "10.1.2.3/8".parse().expect("range");
        assert_eq!(range.to_string(), "10.0.0.0/8");
        assert_eq!(
            "::1".parse::<AddressRange>().expect("range").to_string(),
            "::1/128"
        );
        assert!("10.0.0.0/33".parse::<AddressRange>().is_err());
        assert!("example.com".parse::<AddressRange>().is_err());
    }
}
