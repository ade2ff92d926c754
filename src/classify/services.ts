import { loadBuiltinCatalog, type Catalog, type CatalogEntry } from '../catalog/index.js';

/**
 * A built-in table of the well-known node ports named by the seeds (Harvester, RKE2, K3s, kubeadm, Talos, Calico,
 * Cilium, Flannel) and /work/shared/reference/port-catalog-facts.md: the last names {@link catalogServiceLookup} gives
 * (ports the role catalog does not list), and the only ones when the catalog files cannot be loaded. The classifier
 * only needs "is this port a known service, and what is it called".
 */

/** Finds the service name a node offers on `port`, or undefined. `proto` is lower-case (`tcp`, `udp`). */
export type ServiceLookup = ((proto: string, port: number) => string | undefined) & {
  /** the name comes of a catalog row that listens on loopback only (never to be opened to other hosts) */
  loopbackOnly?: (proto: string, port: number) => boolean;
  /**
   * Names for a server that is not this node (the node was the client): the well-known names first. It names the
   * same ports as the lookup itself, so a port is known to both or to neither. Absent: the lookup's own names.
   */
  remote?: ServiceLookup;
};

const TCP: ReadonlyArray<readonly [number, string]> = [
  [22, 'SSH'],
  [53, 'DNS'],
  [80, 'HTTP (Harvester UI / ingress)'],
  [111, 'rpcbind (NFS)'],
  [179, 'BGP (Calico)'],
  [443, 'HTTPS (Harvester UI / ingress)'],
  [2049, 'NFS (Longhorn RWX volumes)'],
  [2112, 'kube-vip metrics'],
  [2379, 'etcd client'],
  [2380, 'etcd peer'],
  [2381, 'etcd metrics'],
  [2382, 'etcd client (HTTP)'],
  [3260, 'iSCSI (iscsid)'],
  [4240, 'Cilium health checks'],
  [4244, 'Hubble server'],
  [4245, 'Hubble Relay'],
  [5001, 'K3s embedded registry (Spegel)'],
  [5473, 'Calico Typha'],
  [6443, 'Kubernetes API'],
  [6444, 'RKE2 agent / local API'],
  [6641, 'OVN northbound DB'],
  [6642, 'OVN southbound DB'],
  [6643, 'OVN northd'],
  [6644, 'OVN raft'],
  [7471, 'Kube-OVN STT tunnel'],
  [8080, 'kube-ovn-webhook HTTP'],
  [8181, 'nginx-ingress-controller'],
  [8443, 'kube-ovn-webhook HTTPS'],
  [8444, 'nginx-ingress-controller'],
  [9091, 'calico-node felix metrics'],
  [9098, 'Calico Typha health checks'],
  [9099, 'Canal/Calico CNI health checks'],
  [9100, 'node-exporter'],
  [9345, 'RKE2 supervisor API'],
  [9796, 'node-exporter (rancher-monitoring)'],
  [9962, 'cilium-agent metrics'],
  [9963, 'cilium-operator metrics'],
  [9964, 'cilium-envoy metrics'],
  [10010, 'containerd'],
  [10245, 'nginx-ingress-controller'],
  [10246, 'nginx worker'],
  [10247, 'nginx worker'],
  [10248, 'nginx worker / kubelet health'],
  [10249, 'nginx worker / kube-proxy metrics'],
  [10250, 'kubelet API'],
  [10251, 'kube-scheduler health'],
  [10252, 'kube-controller-manager health'],
  [10256, 'kube-proxy health'],
  [10257, 'kube-controller-manager'],
  [10258, 'cloud-controller-manager'],
  [10259, 'kube-scheduler'],
  [10260, 'cloud-controller-manager'],
  [10660, 'kube-ovn-controller metrics'],
  [10661, 'kube-ovn-monitor metrics'],
  [10665, 'kube-ovn-daemon'],
  [50000, 'Talos apid'],
  [50001, 'Talos trustd'],
];

const UDP: ReadonlyArray<readonly [number, string]> = [
  [53, 'DNS'],
  [67, 'DHCP server'],
  [68, 'DHCP client'],
  [111, 'rpcbind (NFS)'],
  [123, 'NTP'],
  [4789, 'VXLAN (Calico/Flannel/Kube-OVN)'],
  [6081, 'Geneve'],
  [8285, 'Flannel UDP backend'],
  [8472, 'VXLAN (Flannel/Canal/Cilium)'],
  [51820, 'WireGuard (Canal/Calico/KubeSpan)'],
  [51821, 'WireGuard IPv6'],
  [51871, 'Cilium WireGuard'],
];

/**
 * Service names by port: a dense array indexed by port (one bounds-free load per lookup, which matters at millions of
 * events per second), and a bit per port that has a name. Most lookups are of ports with none (clients' ephemeral
 * ports): the 8 KB bitmap stays in cache where the 512 KB table would not, so those answer without a cache miss.
 * The bits are set as names are (not found by a pass over all 65,536 ports: two such passes per protocol took
 * ~5-10 ms of every start, in code not yet optimised).
 */
class PortNames {
  readonly names = new Array<string | undefined>(65536).fill(undefined);
  /** a bit per port: named */
  readonly bits = new Int32Array(2048);
  /** a bit per port: named by a row that listens on loopback only */
  private readonly loop = new Int32Array(2048);

  /** Names `port` unless it has a name already (the first name wins), from a loopback-only row when `loopback`. */
  add(port: number, name: string, loopback = false): boolean {
    if (this.names[port] !== undefined) return false;
    this.names[port] = name;
    this.bits[port >>> 5]! |= 1 << (port & 31);
    if (loopback) this.loop[port >>> 5]! |= 1 << (port & 31);
    return true;
  }

  /** Was `port` named by a loopback-only row? */
  loopbackOnly(port: number): boolean {
    return (this.loop[port >>> 5]! & (1 << (port & 31))) !== 0;
  }

  addRows(rows: ReadonlyArray<readonly [number, string]>): this {
    for (const [port, name] of rows) this.add(port, name);
    return this;
  }
}

/** A lookup over per-port name tables for TCP and UDP (UDP-Lite shares UDP's). */
function lookupOver(tcp: PortNames, udp: PortNames): ServiceLookup {
  const tcpBits = tcp.bits;
  const udpBits = udp.bits;
  const tcpNames = tcp.names;
  const udpNames = udp.names;
  return (proto, port) => {
    if (proto === 'tcp') return (tcpBits[port >>> 5]! & (1 << (port & 31))) === 0 ? undefined : tcpNames[port];
    if (proto === 'udp' || proto === 'udplite') return (udpBits[port >>> 5]! & (1 << (port & 31))) === 0 ? undefined : udpNames[port];
    return undefined;
  };
}

let builtin: ServiceLookup | undefined;

/**
 * The built-in lookup: TCP and UDP ports from the seeds; other protocols have no ports here. Its tables (1 MB) are
 * made on its first call: a run with the catalog (every run but a broken install's) never makes them.
 */
export const builtinServiceForPort: ServiceLookup = (proto, port) =>
  (builtin ??= lookupOver(new PortNames().addRows(TCP), new PortNames().addRows(UDP)))(proto, port);

/** Names for portless IP protocols a node may legitimately receive (`PROTO=4` etc.), by protocol number. */
const IP_PROTOCOLS: ReadonlyMap<string, string> = new Map([
  ['2', 'IGMP'],
  ['4', 'IP-in-IP (Calico)'],
  ['41', 'IPv6-in-IPv4'],
  ['47', 'GRE'],
  ['50', 'IPsec ESP'],
  ['ESP', 'IPsec ESP'],
  ['51', 'IPsec AH'],
  ['AH', 'IPsec AH'],
  ['89', 'OSPF'],
  ['94', 'IP-in-IP (KA9Q)'],
  ['103', 'PIM'],
  ['112', 'VRRP (keepalived)'],
  ['132', 'SCTP'],
]);

/** The service name for a portless protocol as printed after `PROTO=`, or undefined. */
export function serviceForProtocol(proto: string): string | undefined {
  return IP_PROTOCOLS.get(proto);
}

/**
 * The role catalog (src/catalog) as a {@link ServiceLookup}. A catalog lookup filters entry lists (microseconds) —
 * far too slow per event — so the catalog is flattened once into dense per-port tables. Precedence, first name
 * wins: the given platform's entries, then the generic table, then every other platform (sorted); within each,
 * inbound entries before loopback-only ones; then the built-in table here (ports the catalog does not list yet).
 * Its `remote` lookup, for a server that is not this node, puts the generic table before the platform: the platform
 * says what this node serves, and a remote HTTPS server is `https`, not the platform's UI. Both name the same ports.
 * If the catalog cannot be loaded, the built-in table alone answers.
 */
export function catalogServiceLookup(platform?: string, catalog?: Catalog): ServiceLookup {
  let cat: Catalog;
  try {
    cat = catalog ?? loadBuiltinCatalog();
  } catch {
    // no catalog files (a broken install): the classifier must still work
    return builtinServiceForPort;
  }
  const names = [...cat.platforms.keys()].sort();
  const own = platform !== undefined && cat.platforms.has(platform) && platform !== 'generic' ? [platform] : [];
  const generic = cat.platforms.has('generic') ? ['generic'] : [];
  const others = names.filter((p) => p !== platform && p !== 'generic');
  const lookup = lookupOfCatalog(cat, [...own, ...generic, ...others]);
  // without a platform of its own (or with `generic`) the two orders are one: no second table
  if (own.length > 0 && generic.length > 0) lookup.remote = lookupOfCatalog(cat, [...generic, ...own, ...others]);
  return lookup;
}

/** The catalog's platforms in `order` (first name wins), then the built-in rows, as one {@link ServiceLookup}. */
function lookupOfCatalog(cat: Catalog, order: readonly string[]): ServiceLookup {
  const tcp = new PortNames();
  const udp = new PortNames();
  const fill = (entries: CatalogEntry[]) => {
    for (const e of entries) {
      if (e.port === undefined) continue;
      const t = e.proto === 'tcp' ? tcp : e.proto === 'udp' ? udp : undefined;
      if (t === undefined) continue;
      const loopback = e.scope === 'loopback';
      for (let p = e.port.from; p <= e.port.to; p++) t.add(p, e.service, loopback);
    }
  };
  for (const name of order) {
    const entries = cat.platforms.get(name)?.entries ?? [];
    fill(entries.filter((e) => e.scope !== 'loopback'));
    fill(entries.filter((e) => e.scope === 'loopback'));
  }
  // then the built-in rows, for ports the catalog does not name
  tcp.addRows(TCP);
  udp.addRows(UDP);
  const lookup: ServiceLookup = lookupOver(tcp, udp);
  lookup.loopbackOnly = (proto, port) =>
    proto === 'tcp' ? tcp.loopbackOnly(port) : proto === 'udp' || proto === 'udplite' ? udp.loopbackOnly(port) : false;
  return lookup;
}
