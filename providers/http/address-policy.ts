import { BlockList, isIP } from 'node:net';

/**
 * Which IP addresses outbound requests may connect to (docs/DESIGN.md decision 8).
 * Pure: no DNS here; the guarded client calls it with every resolved address at connect time.
 */
export interface AddressPolicy {
  /** Why `address` must not be connected to (e.g. "loopback"), or undefined when it may be. */
  blockedReason(address: string, hostname?: string): string | undefined;
}

type Family = 'ipv4' | 'ipv6';
type Range = [network: string, prefix: number, label: string];

// IANA special-purpose registries. Order matters only for the label shown (first match wins).
const IPV4_RANGES: Range[] = [
  ['255.255.255.255', 32, 'broadcast'],
  ['0.0.0.0', 8, '"this network"'],
  ['10.0.0.0', 8, 'private'],
  ['172.16.0.0', 12, 'private'],
  ['192.168.0.0', 16, 'private'],
  ['100.64.0.0', 10, 'carrier-grade NAT'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local / cloud metadata'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['192.88.99.0', 24, '6to4 relay'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];

// IPv6 is allowed only inside global unicast 2000::/3, minus the special blocks below; the labels
// outside it just make the refusal readable. Mapped and NAT64 addresses are checked as IPv4 first.
const IPV6_RANGES: Range[] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['fc00::', 7, 'unique-local'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local'],
  ['ff00::', 8, 'multicast'],
  ['64:ff9b:1::', 48, 'local-use NAT64'],
  ['100::', 64, 'discard-only'],
  ['2001::', 23, 'IETF protocol assignments (Teredo, ORCHID, benchmarking)'],
  ['2001:db8::', 32, 'documentation'],
  ['3fff::', 20, 'documentation'],
  ['2002::', 16, '6to4'],
];

const GLOBAL_UNICAST_V6 = compile([['2000::', 3, 'global unicast']], 'ipv6')[0].list;

function compile(ranges: Range[], family: Family): { list: BlockList; label: string }[] {
  return ranges.map(([network, prefix, label]) => {
    const list = new BlockList();
    list.addSubnet(network, prefix, family);
    return { list, label };
  });
}

const V4 = compile(IPV4_RANGES, 'ipv4');
const V6 = compile(IPV6_RANGES, 'ipv6');

/** The eight 16-bit groups of a valid IPv6 address (zone id already removed). */
function ipv6Groups(address: string): number[] {
  let text = address.toLowerCase();
  const tail = text.slice(text.lastIndexOf(':') + 1);
  if (tail.includes('.')) {
    const [a, b, c, d] = tail.split('.').map(Number);
    text = `${text.slice(0, text.length - tail.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = text.split('::');
  const parse = (s: string | undefined) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const left = parse(head);
  const right = parse(rest);
  const zeros = rest === undefined ? [] : new Array<number>(8 - left.length - right.length).fill(0);
  return [...left, ...zeros, ...right];
}

/** The IPv4 address an IPv4-mapped (::ffff:a.b.c.d) or NAT64 (64:ff9b::a.b.c.d) address reaches. */
function embeddedIPv4(address: string): string | undefined {
  const g = ipv6Groups(address);
  const mapped = g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff;
  const nat64 = g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0);
  if (!mapped && !nat64) return undefined;
  return [g[6] >> 8, g[6] & 0xff, g[7] >> 8, g[7] & 0xff].join('.');
}

function classify(ip: string, family: Family): string | undefined {
  const table = family === 'ipv4' ? V4 : V6;
  const hit = table.find((r) => r.list.check(ip, family));
  if (hit) return hit.label;
  if (family === 'ipv6' && !GLOBAL_UNICAST_V6.check(ip, 'ipv6')) return 'reserved (not global unicast)';
  return undefined;
}

/**
 * Builds the policy. `allowedNetworks` holds CIDRs ("10.0.0.0/8", "fd00::/8"), single addresses,
 * or exact hostnames; an allow-listed hostname may resolve to anything. Throws on a malformed entry.
 */
export function createAddressPolicy(allowedNetworks: readonly string[]): AddressPolicy {
  const allowed = new BlockList();
  const allowedHosts = new Set<string>();
  for (const raw of allowedNetworks) {
    const entry = raw.trim();
    const [network, bits, extra] = entry.split('/');
    const version = isIP(network);
    if (bits !== undefined && version) {
      const prefix = Number(bits);
      const max = version === 4 ? 32 : 128;
      if (extra !== undefined || !/^\d+$/.test(bits) || prefix > max) {
        throw new Error(`allowedNetworks: "${entry}" is not a valid CIDR`);
      }
      allowed.addSubnet(network, prefix, version === 4 ? 'ipv4' : 'ipv6');
    } else if (version) {
      allowed.addAddress(network, version === 4 ? 'ipv4' : 'ipv6');
    } else if (/^[a-z0-9-]+(\.[a-z0-9-]+)*\.?$/i.test(entry)) {
      allowedHosts.add(normaliseHost(entry));
    } else {
      throw new Error(`allowedNetworks: "${entry}" is neither a CIDR, an address nor a hostname`);
    }
  }

  return {
    blockedReason(address, hostname) {
      if (hostname !== undefined && allowedHosts.has(normaliseHost(hostname))) return undefined;
      const ip = address.split('%')[0]; // drop an IPv6 zone id (fe80::1%eth0)
      const version = isIP(ip);
      if (!version) return 'not an IP address';
      const family: Family = version === 4 ? 'ipv4' : 'ipv6';
      const v4 = family === 'ipv6' ? embeddedIPv4(ip) : undefined;
      const reason = v4 ? classify(v4, 'ipv4') : classify(ip, family);
      if (reason === undefined) return undefined;
      if (allowed.check(ip, family) || (v4 !== undefined && allowed.check(v4, 'ipv4'))) return undefined;
      return reason;
    },
  };
}

function normaliseHost(host: string): string {
  return host.toLowerCase().replace(/\.$/, '');
}
