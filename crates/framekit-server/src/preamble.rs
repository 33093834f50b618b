//! The PROXY protocol preamble, as configured: which versions a connection must start with,
//! how long the balancer gets to send the header, and which source networks may send one.
//!
//! With the preamble on, every connection must open with a PROXY header from a trusted source
//! before a byte is framed (and before TLS, as HAProxy's `send-proxy` to a TLS backend does).
//! A connection from an untrusted source is refused and closed at once (otherwise any client
//! could choose its own address); one without a valid header in time is refused too. `LOCAL`
//! (a balancer's health check) and `UNKNOWN` headers are accepted and keep the socket's own
//! addresses. What the header says reaches handlers through
//! [`Ctx::peer`](crate::Ctx::peer), [`Ctx::destination`](crate::Ctx::destination) and
//! [`Ctx::proxy_header`](crate::Ctx::proxy_header).
//!
//! ```
//! use std::time::Duration;
//! use framekit_server::preamble::{parse_networks, Preamble, ProxyMode};
//! use framekit_server::ServerConfig;
//!
//! // Behind HAProxy's `send-proxy-v2`, which runs on 10.0.0.0/8.
//! let config = ServerConfig::default().preamble(
//!     Preamble::new(ProxyMode::V2)
//!         .trusted(parse_networks("10.0.0.0/8").unwrap())
//!         .timeout(Duration::from_secs(3)),
//! );
//! assert_eq!(config.proxy_preamble().mode(), ProxyMode::V2);
//! assert_eq!(config.proxy_preamble().header_timeout(), Duration::from_secs(3).into());
//! ```

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;
use std::time::Duration;

use framekit::connection::Timeout;

pub use framekit::framing::proxy::{ProxyHeader, Tlv, Versions};
pub use ipnet::IpNet;

/// Default time a connection gets to deliver its whole PROXY header.
///
/// ```
/// use framekit_server::preamble::{Preamble, ProxyMode, DEFAULT_PREAMBLE_TIMEOUT};
/// assert_eq!(Preamble::new(ProxyMode::V1).header_timeout(), DEFAULT_PREAMBLE_TIMEOUT.into());
/// ```
pub const DEFAULT_PREAMBLE_TIMEOUT: Duration = Duration::from_secs(5);

/// Which PROXY header a connection must start with, if any.
///
/// ```
/// use framekit_server::preamble::{Preamble, ProxyMode};
/// assert_eq!(ProxyMode::default(), ProxyMode::Off);
/// assert_eq!(Preamble::new(ProxyMode::Any).mode(), ProxyMode::Any);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ProxyMode {
    /// No preamble: the first byte is the protocol's (the default).
    #[default]
    Off,
    /// A v1 text line.
    V1,
    /// A v2 binary header.
    V2,
    /// Either version.
    Any,
}

impl ProxyMode {
    /// The versions accepted, or `None` when the stage is off.
    ///
    /// ```
    /// use framekit_server::preamble::{ProxyMode, Versions};
    /// assert_eq!(ProxyMode::Any.versions(), Some(Versions::Any));
    /// assert_eq!(ProxyMode::Off.versions(), None);
    /// ```
    pub fn versions(self) -> Option<Versions> {
        match self {
            ProxyMode::Off => None,
            ProxyMode::V1 => Some(Versions::V1),
            ProxyMode::V2 => Some(Versions::V2),
            ProxyMode::Any => Some(Versions::Any),
        }
    }
}

impl FromStr for ProxyMode {
    type Err = String;

    /// `off`, `v1`, `v2` or `any`, as the examples' `--proxy-protocol` takes it.
    ///
    /// ```
    /// use framekit_server::preamble::ProxyMode;
    /// assert_eq!("v2".parse::<ProxyMode>(), Ok(ProxyMode::V2));
    /// assert!("v3".parse::<ProxyMode>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "off" => Ok(ProxyMode::Off),
            "v1" => Ok(ProxyMode::V1),
            "v2" => Ok(ProxyMode::V2),
            "any" => Ok(ProxyMode::Any),
            other => Err(format!("`{other}` is not one of off, v1, v2, any")),
        }
    }
}

impl fmt::Display for ProxyMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ProxyMode::Off => "off",
            ProxyMode::V1 => "v1",
            ProxyMode::V2 => "v2",
            ProxyMode::Any => "any",
        })
    }
}

/// The preamble stage's settings ([`ServerConfig::preamble`](crate::ServerConfig::preamble)).
///
/// ```
/// use std::time::Duration;
/// use framekit_server::preamble::{Preamble, ProxyMode};
///
/// let preamble = Preamble::new(ProxyMode::V2)
///     .trusted(["10.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()])
///     .timeout(Duration::from_secs(2));
/// assert!(preamble.trusts("10.1.2.3".parse().unwrap()));
/// assert!(!preamble.trusts("192.0.2.1".parse().unwrap()));
/// // IPv4 peers of a dual-stack listener arrive as mapped IPv6 addresses.
/// assert!(preamble.trusts("::ffff:10.1.2.3".parse().unwrap()));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preamble {
    mode: ProxyMode,
    trusted: Vec<IpNet>,
    timeout: Timeout,
    max_header_len: usize,
}

impl Default for Preamble {
    /// Off; when turned on, loopback is the only trusted source until told otherwise.
    fn default() -> Self {
        Preamble::new(ProxyMode::Off)
    }
}

impl Preamble {
    /// A preamble of `mode`, trusting loopback (127.0.0.0/8 and ::1) only, with the default
    /// timeout and a v2 header limit of
    /// [`DEFAULT_MAX_HEADER_LEN`](framekit::framing::proxy::DEFAULT_MAX_HEADER_LEN).
    ///
    /// ```
    /// use framekit_server::preamble::{Preamble, ProxyMode};
    /// assert!(Preamble::new(ProxyMode::Any).trusts("127.0.0.1".parse().unwrap()));
    /// ```
    pub fn new(mode: ProxyMode) -> Self {
        Preamble {
            mode,
            trusted: vec![
                IpNet::from_str("127.0.0.0/8").expect("a valid network"),
                IpNet::from_str("::1/128").expect("a valid network"),
            ],
            timeout: Timeout::After(DEFAULT_PREAMBLE_TIMEOUT),
            max_header_len: framekit::framing::proxy::DEFAULT_MAX_HEADER_LEN,
        }
    }

    /// The source networks allowed to send a header, replacing the loopback default. An empty
    /// list trusts nobody: every connection is refused.
    ///
    /// ```
    /// use std::time::Duration;
    /// use framekit_server::preamble::{parse_networks, Preamble, ProxyMode};
    /// let p = Preamble::new(ProxyMode::V1)
    ///     .trusted(parse_networks("10.0.0.0/8").unwrap())
    ///     .timeout(Duration::from_secs(2))
    ///     .max_header_len(512);
    /// assert_eq!(p.trusted_networks().len(), 1);
    /// assert_eq!(p.header_timeout(), Duration::from_secs(2).into());
    /// assert_eq!(p.header_limit(), 512);
    /// assert!(p.trusts("10.9.9.9".parse().unwrap()) && !p.trusts("127.0.0.1".parse().unwrap()));
    /// ```
    pub fn trusted(mut self, networks: impl IntoIterator<Item = IpNet>) -> Self {
        self.trusted = networks.into_iter().collect();
        self
    }

    /// How long a connection gets to deliver its whole header.
    ///
    /// ```
    /// use std::time::Duration;
    /// use framekit_server::preamble::{parse_networks, Preamble, ProxyMode};
    /// let p = Preamble::new(ProxyMode::V1)
    ///     .trusted(parse_networks("10.0.0.0/8").unwrap())
    ///     .timeout(Duration::from_secs(2))
    ///     .max_header_len(512);
    /// assert_eq!(p.trusted_networks().len(), 1);
    /// assert_eq!(p.header_timeout(), Duration::from_secs(2).into());
    /// assert_eq!(p.header_limit(), 512);
    /// assert!(p.trusts("10.9.9.9".parse().unwrap()) && !p.trusts("127.0.0.1".parse().unwrap()));
    /// ```
    pub fn timeout(mut self, timeout: impl Into<Timeout>) -> Self {
        self.timeout = timeout.into();
        self
    }

    /// The limit on a v2 header (see `ProxyProtocol::max_header_len`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use framekit_server::preamble::{parse_networks, Preamble, ProxyMode};
    /// let p = Preamble::new(ProxyMode::V1)
    ///     .trusted(parse_networks("10.0.0.0/8").unwrap())
    ///     .timeout(Duration::from_secs(2))
    ///     .max_header_len(512);
    /// assert_eq!(p.trusted_networks().len(), 1);
    /// assert_eq!(p.header_timeout(), Duration::from_secs(2).into());
    /// assert_eq!(p.header_limit(), 512);
    /// assert!(p.trusts("10.9.9.9".parse().unwrap()) && !p.trusts("127.0.0.1".parse().unwrap()));
    /// ```
    pub fn max_header_len(mut self, max: usize) -> Self {
        self.max_header_len = max;
        self
    }

    /// The mode.
    ///
    /// ```
    /// use framekit_server::preamble::{Preamble, ProxyMode};
    /// assert_eq!(Preamble::default().mode(), ProxyMode::Off);
    /// ```
    pub fn mode(&self) -> ProxyMode {
        self.mode
    }

    /// The trusted networks.
    ///
    /// ```
    /// use std::time::Duration;
    /// use framekit_server::preamble::{parse_networks, Preamble, ProxyMode};
    /// let p = Preamble::new(ProxyMode::V1)
    ///     .trusted(parse_networks("10.0.0.0/8").unwrap())
    ///     .timeout(Duration::from_secs(2))
    ///     .max_header_len(512);
    /// assert_eq!(p.trusted_networks().len(), 1);
    /// assert_eq!(p.header_timeout(), Duration::from_secs(2).into());
    /// assert_eq!(p.header_limit(), 512);
    /// assert!(p.trusts("10.9.9.9".parse().unwrap()) && !p.trusts("127.0.0.1".parse().unwrap()));
    /// ```
    pub fn trusted_networks(&self) -> &[IpNet] {
        &self.trusted
    }

    /// The header timeout.
    ///
    /// ```
    /// use std::time::Duration;
    /// use framekit_server::preamble::{parse_networks, Preamble, ProxyMode};
    /// let p = Preamble::new(ProxyMode::V1)
    ///     .trusted(parse_networks("10.0.0.0/8").unwrap())
    ///     .timeout(Duration::from_secs(2))
    ///     .max_header_len(512);
    /// assert_eq!(p.trusted_networks().len(), 1);
    /// assert_eq!(p.header_timeout(), Duration::from_secs(2).into());
    /// assert_eq!(p.header_limit(), 512);
    /// assert!(p.trusts("10.9.9.9".parse().unwrap()) && !p.trusts("127.0.0.1".parse().unwrap()));
    /// ```
    pub fn header_timeout(&self) -> Timeout {
        self.timeout
    }

    /// The v2 header limit.
    ///
    /// ```
    /// use std::time::Duration;
    /// use framekit_server::preamble::{parse_networks, Preamble, ProxyMode};
    /// let p = Preamble::new(ProxyMode::V1)
    ///     .trusted(parse_networks("10.0.0.0/8").unwrap())
    ///     .timeout(Duration::from_secs(2))
    ///     .max_header_len(512);
    /// assert_eq!(p.trusted_networks().len(), 1);
    /// assert_eq!(p.header_timeout(), Duration::from_secs(2).into());
    /// assert_eq!(p.header_limit(), 512);
    /// assert!(p.trusts("10.9.9.9".parse().unwrap()) && !p.trusts("127.0.0.1".parse().unwrap()));
    /// ```
    pub fn header_limit(&self) -> usize {
        self.max_header_len
    }

    /// Whether a connection from `source` may send a header.
    ///
    /// ```
    /// use std::time::Duration;
    /// use framekit_server::preamble::{parse_networks, Preamble, ProxyMode};
    /// let p = Preamble::new(ProxyMode::V1)
    ///     .trusted(parse_networks("10.0.0.0/8").unwrap())
    ///     .timeout(Duration::from_secs(2))
    ///     .max_header_len(512);
    /// assert_eq!(p.trusted_networks().len(), 1);
    /// assert_eq!(p.header_timeout(), Duration::from_secs(2).into());
    /// assert_eq!(p.header_limit(), 512);
    /// assert!(p.trusts("10.9.9.9".parse().unwrap()) && !p.trusts("127.0.0.1".parse().unwrap()));
    /// ```
    pub fn trusts(&self, source: IpAddr) -> bool {
        let source = source.to_canonical();
        self.trusted.iter().any(|net| net.contains(&source))
    }
}

/// Parses `CIDR[,CIDR...]` (a bare address is one host), as the examples' `--proxy-trusted`
/// takes it.
///
/// ```
/// use framekit_server::preamble::parse_networks;
/// let nets = parse_networks("10.0.0.0/8, 192.0.2.7,::1").unwrap();
/// assert_eq!(nets.len(), 3);
/// assert_eq!(nets[1].to_string(), "192.0.2.7/32");
/// assert!(parse_networks("10.0.0.0/33").is_err());
/// ```
pub fn parse_networks(list: &str) -> Result<Vec<IpNet>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("`{s}` is not a network like 10.0.0.0/8 or an address"))
        })
        .collect()
}
