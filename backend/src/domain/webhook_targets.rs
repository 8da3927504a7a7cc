//! Where webhooks may be delivered. A webhook makes Wharf send requests to an address
//! someone else chose, so the addresses that hand out cloud credentials or talk to the
//! host (instance metadata, the Azure wire server) are refused, however they are written:
//! as IPv4, or inside an IPv6 address that the network turns back into that IPv4 address
//! (IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo, ISATAP). The URL is checked when a
//! subscription is made, and every address its name resolves to before each delivery.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::Invalid;

/// Why an address may not receive webhooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Refusal {
    /// Link-local (169.254.0.0/16, fe80::/10), where metadata services live: refused
    /// unless `webhook_allow_link_local` is set.
    LinkLocal,
    /// A cloud's metadata or host service: refused whatever the configuration says (the
    /// setting opens link-local receivers, never the credentials of the host).
    CloudService,
}

impl Refusal {
    pub fn describe(self) -> &'static str {
        match self {
            Self::LinkLocal => "a link-local address",
            Self::CloudService => "a cloud metadata or host service address",
        }
    }
}

/// Metadata and host services on IPv4: instance metadata of AWS, Google Cloud, Azure,
/// Oracle, DigitalOcean and OpenStack (169.254.169.254), ECS task credentials
/// (169.254.170.2), EKS Pod Identity (169.254.170.23), Oracle Cloud Classic (192.0.0.192),
/// Alibaba Cloud metadata (100.100.100.200), Azure's wire server (168.63.129.16).
const CLOUD_SERVICES_V4: [Ipv4Addr; 6] = [
    Ipv4Addr::new(169, 254, 169, 254),
    Ipv4Addr::new(169, 254, 170, 2),
    Ipv4Addr::new(169, 254, 170, 23),
    Ipv4Addr::new(192, 0, 0, 192),
    Ipv4Addr::new(100, 100, 100, 200),
    Ipv4Addr::new(168, 63, 129, 16),
];

/// On IPv6: AWS instance metadata (fd00:ec2::254), EKS Pod Identity (fd00:ec2::23),
/// Google Cloud metadata (fd20:ce::254).
const CLOUD_SERVICES_V6: [Ipv6Addr; 3] = [
    Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254),
    Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23),
    Ipv6Addr::new(0xfd20, 0xce, 0, 0, 0, 0, 0, 0x254),
];

/// Why webhooks may not reach `ip`, or `None` when they may.
pub fn refusal(ip: IpAddr) -> Option<Refusal> {
    match ip {
        IpAddr::V4(v4) => refusal_v4(v4),
        IpAddr::V6(v6) => {
            let own = if CLOUD_SERVICES_V6.contains(&v6) {
                Some(Refusal::CloudService)
            } else if (v6.segments()[0] & 0xffc0) == 0xfe80 {
                Some(Refusal::LinkLocal)
            } else {
                None
            };
            // The gravest reason of the address and of every IPv4 address it carries.
            embedded_ipv4(v6)
                .into_iter()
                .filter_map(refusal_v4)
                .chain(own)
                .max()
        }
    }
}

fn refusal_v4(ip: Ipv4Addr) -> Option<Refusal> {
    if CLOUD_SERVICES_V4.contains(&ip) {
        Some(Refusal::CloudService)
    } else if ip.is_link_local() {
        Some(Refusal::LinkLocal)
    } else {
        None
    }
}

/// Whether a webhook may be delivered to this address.
pub fn address_allowed(ip: IpAddr, allow_link_local: bool) -> bool {
    match refusal(ip) {
        None => true,
        Some(Refusal::LinkLocal) => allow_link_local,
        Some(Refusal::CloudService) => false,
    }
}

/// The IPv4 addresses an IPv6 address may stand for on the way: every reading that a
/// translator or tunnel on the path could apply (RFC 4291, 2765, 6052, 3056, 4380, 5214).
/// More than one reading can fit one address; the caller checks them all.
fn embedded_ipv4(v6: Ipv6Addr) -> Vec<Ipv4Addr> {
    let b = v6.octets();
    let s = v6.segments();
    let v4 = |o: [u8; 4]| Ipv4Addr::from(o);
    let last = v4([b[12], b[13], b[14], b[15]]);
    let mut found = Vec::new();
    // IPv4-compatible ::a.b.c.d, IPv4-mapped ::ffff:a.b.c.d, SIIT ::ffff:0:a.b.c.d.
    let compatible_or_mapped = s[..5] == [0; 5] && matches!(s[5], 0 | 0xffff);
    let translated = s[..4] == [0; 4] && s[4] == 0xffff && s[5] == 0;
    if compatible_or_mapped || translated {
        found.push(last);
    }
    // NAT64, the well-known prefix 64:ff9b::/96.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        found.push(last);
    }
    // NAT64, the local-use prefix 64:ff9b:1::/48, subnetted to any RFC 6052 length
    // (bits 64–71 are always zero and skipped).
    if s[..3] == [0x64, 0xff9b, 1] {
        found.extend([
            v4([b[6], b[7], b[9], b[10]]),   // /48
            v4([b[7], b[9], b[10], b[11]]),  // /56
            v4([b[9], b[10], b[11], b[12]]), // /64
            last,                            // /96
        ]);
    }
    // 6to4: 2002:AABB:CCDD::/48 carries AA.BB.CC.DD.
    if s[0] == 0x2002 {
        found.push(v4([b[2], b[3], b[4], b[5]]));
    }
    // Teredo 2001:0::/32: the server, and the client's address with every bit flipped.
    if s[..2] == [0x2001, 0] {
        found.push(v4([b[4], b[5], b[6], b[7]]));
        found.push(v4([!b[12], !b[13], !b[14], !b[15]]));
    }
    // ISATAP: an interface id of 0:5efe:a.b.c.d (or 200:5efe:…), under any prefix.
    if s[4] & 0xfdff == 0 && s[5] == 0x5efe {
        found.push(last);
    }
    found
}

/// Check a webhook URL as written: http or https with a host, no credentials inside, and
/// not an address webhooks may not reach (a name is checked when it is resolved, at
/// each delivery).
pub fn parse_webhook_url(raw: &str, allow_link_local: bool) -> Result<url::Url, Invalid> {
    let invalid = |message: &str| Invalid::new("url", message);
    let url = url::Url::parse(raw.trim()).map_err(|e| invalid(&format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid("only http and https URLs can receive webhooks"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "put credentials in the signing secret, not in the URL",
        ));
    }
    let ip = match url.host() {
        None => return Err(invalid("the URL needs a host")),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(url::Host::Domain(_)) => return Ok(url),
    };
    match refusal(ip) {
        Some(reason) if !address_allowed(ip, allow_link_local) => Err(invalid(&format!(
            "{ip} is {}, which cannot receive webhooks",
            reason.describe()
        ))),
        _ => Ok(url),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPEN: Option<Refusal> = None;
    const LINK_LOCAL: Option<Refusal> = Some(Refusal::LinkLocal);
    const CLOUD: Option<Refusal> = Some(Refusal::CloudService);

    #[test]
    fn every_form_of_a_metadata_address_is_refused() {
        let table = [
            // IPv4 as it is.
            ("169.254.169.254", CLOUD),
            ("169.254.170.2", CLOUD),
            ("100.100.100.200", CLOUD),
            ("168.63.129.16", CLOUD),
            ("169.254.1.1", LINK_LOCAL),
            ("127.0.0.1", OPEN),
            ("10.0.0.7", OPEN),
            ("100.100.100.201", OPEN),
            ("8.8.8.8", OPEN),
            // IPv6 as it is.
            ("fd00:ec2::254", CLOUD),
            ("fd20:ce::254", CLOUD),
            ("fe80::1", LINK_LOCAL),
            ("febf::1", LINK_LOCAL),
            ("::1", OPEN),
            ("::", OPEN),
            ("2001:db8::1", OPEN),
            ("2606:4700::1111", OPEN),
            // IPv4-mapped, IPv4-compatible, SIIT.
            ("::ffff:169.254.169.254", CLOUD),
            ("::169.254.169.254", CLOUD),
            ("::ffff:0:169.254.169.254", CLOUD),
            ("::ffff:100.100.100.200", CLOUD),
            ("::168.63.129.16", CLOUD),
            ("::ffff:169.254.7.7", LINK_LOCAL),
            ("::ffff:127.0.0.1", OPEN),
            // NAT64, well-known and local-use prefixes.
            ("64:ff9b::a9fe:a9fe", CLOUD),
            ("64:ff9b::169.254.1.1", LINK_LOCAL),
            ("64:ff9b::8.8.8.8", OPEN),
            ("64:ff9b:1::a9fe:a9fe", CLOUD),
            ("64:ff9b:1:a9fe:a9:fe00::", CLOUD),   // a /48 prefix
            ("64:ff9b:1:64:64:64c8::", CLOUD),     // /56: 100.100.100.200
            ("64:ff9b:1:0:a8:3f81:1000::", CLOUD), // /64: 168.63.129.16
            // 6to4, Teredo (client bits flipped: 5601:5601 is 169.254.169.254), ISATAP.
            ("2002:a9fe:a9fe::1", CLOUD),
            ("2002:6464:64c8::", CLOUD),
            ("2002:0808:0808::1", OPEN),
            ("2001:0:4136:e378:8000:63bf:5601:5601", CLOUD),
            ("2001:0:a9fe:a9fe::1", CLOUD),
            ("2001:0:4136:e378:8000:63bf:3fff:fdd2", OPEN),
            ("2001:db8::5efe:a9fe:a9fe", CLOUD),
            ("2001:db8::200:5efe:a9fe:a9fe", CLOUD),
        ];
        for (text, expected) in table {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(refusal(ip), expected, "{text}");
            let allowed = expected.is_none();
            assert_eq!(address_allowed(ip, false), allowed, "{text}");
            assert_eq!(
                address_allowed(ip, true),
                expected != CLOUD,
                "{text} with link-local allowed"
            );
        }
    }

    #[test]
    fn webhook_urls_refuse_metadata_and_odd_schemes() {
        assert!(parse_webhook_url("https://hooks.example.com/wharf", false).is_ok());
        assert!(parse_webhook_url("http://127.0.0.1:9000/in", false).is_ok());
        assert!(parse_webhook_url("http://[::1]:9000/in", false).is_ok());
        for bad in [
            "ftp://example.com/x",
            "http://169.254.169.254/latest/meta-data",
            "http://[fe80::1]/x",
            "http://[fd00:ec2::254]/x",
            "http://[::ffff:169.254.169.254]/x",
            "http://[::169.254.169.254]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[2002:a9fe:a9fe::]/",
            "http://100.100.100.200/latest/meta-data/",
            "http://168.63.129.16/machine?comp=goalstate",
            // The same address as a number, in hex, and with a short last part.
            "http://2852039166/",
            "http://0xA9.0xFE.0xA9.0xFE/",
            "http://169.254.43518/",
            "https://user:pw@example.com/",
            "not a url",
        ] {
            let refused = parse_webhook_url(bad, false).unwrap_err();
            assert_eq!(refused.field, "url", "{bad}");
        }
        // The setting opens link-local receivers, never a metadata service.
        assert!(parse_webhook_url("http://169.254.10.1/x", true).is_ok());
        assert!(parse_webhook_url("http://[fe80::1]/x", true).is_ok());
        for service in [
            "http://169.254.169.254/x",
            "http://[::ffff:a9fe:a9fe]/x",
            "http://[fd00:ec2::254]/x",
        ] {
            assert!(parse_webhook_url(service, true).is_err(), "{service}");
        }
    }
}
