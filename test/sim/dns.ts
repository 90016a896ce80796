import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIP, type Server as TcpServer, type Socket as TcpSocket } from 'node:net';
import dnsPacket, { type Answer, type DecodedPacket, type OptAnswer, type Packet, type Question } from 'dns-packet';

export type DnsRecordType = 'A' | 'CNAME' | 'TXT' | 'PTR';

export interface DnsRecord {
  type: DnsRecordType;
  /**
   * A: the address; CNAME, PTR: the target name (a trailing dot is allowed); TXT: the whole text, any length. A PTR
   * lives at an address's reverse name (`reverseName`).
   */
  value: string;
  ttl?: number;
}

/** The records at a name: `null` when the name does not exist, `[]` when it exists without records. */
export type RecordSource = (name: string) => DnsRecord[] | null;

export interface DnsServer {
  readonly host: string;
  readonly port: number;
  /** `host:port`, for `Resolver.setServers`. */
  readonly address: string;
  close(): Promise<void>;
}

const NOERROR = 0;
const NXDOMAIN = 3;
const SERVFAIL = 2;
const FORMERR = 1;
const NOTIMP = 4;
const PLAIN_UDP_LIMIT = 512;
const EDNS_UDP_LIMIT = 1232;
const MAX_CNAME_CHAIN = 8;
const DEFAULT_TTL = 60;

export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/\.+$/, '');
}

/**
 * Where the PTR record of an address lives: `1.2.0.192.in-addr.arpa` for 192.0.2.1, the 32 nibbles under `ip6.arpa`
 * for IPv6. A test sets a reverse name with the OVH simulator's other-DNS-host records:
 * `sim.setExternalRecord(reverseName('192.0.2.1'), 'PTR', 'mail.example.net')`.
 */
export function reverseName(ip: string): string {
  if (isIP(ip) === 4) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  if (isIP(ip) !== 6) throw new Error(`not an IP address: ${ip}`);
  const [head = '', tail = ''] = ip.includes('::') ? ip.split('::') : [ip, ''];
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const missing = 8 - groups(head).length - groups(tail).length;
  const all = [...groups(head), ...Array<string>(missing).fill('0'), ...groups(tail)];
  const nibbles = all.map((group) => group.padStart(4, '0')).join('');
  return `${[...nibbles.toLowerCase()].reverse().join('.')}.ip6.arpa`;
}

/** Splits a text into the 255-byte character-strings a TXT record is made of. */
export function txtChunks(text: string): Buffer[] {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length === 0) return [Buffer.alloc(0)];
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < bytes.length; offset += 255) chunks.push(bytes.subarray(offset, offset + 255));
  return chunks;
}

function toAnswer(name: string, record: DnsRecord): Answer {
  const ttl = record.ttl ?? DEFAULT_TTL;
  if (record.type === 'TXT') return { type: 'TXT', name, ttl, class: 'IN', data: txtChunks(record.value) };
  return { type: record.type, name, ttl, class: 'IN', data: normalizeName(record.value) };
}

interface Resolution {
  rcode: number;
  answers: Answer[];
}

/** Answers like a recursive resolver: follows CNAMEs to the records of the asked type. */
export function resolve(source: RecordSource, question: Question): Resolution {
  const answers: Answer[] = [];
  let name = question.name;
  for (let hop = 0; hop <= MAX_CNAME_CHAIN; hop++) {
    const records = source(normalizeName(name));
    if (records === null) return { rcode: NXDOMAIN, answers };
    const wanted = records.filter((record) => record.type === question.type);
    const alias = records.find((record) => record.type === 'CNAME');
    if (wanted.length > 0 || !alias) {
      answers.push(...wanted.map((record) => toAnswer(name, record)));
      return { rcode: NOERROR, answers };
    }
    answers.push(toAnswer(name, alias));
    name = normalizeName(alias.value);
  }
  return { rcode: SERVFAIL, answers };
}

function ednsOf(query: DecodedPacket): OptAnswer | undefined {
  return query.additionals?.find((record): record is OptAnswer => record.type === 'OPT');
}

function ednsAnswer(): OptAnswer {
  return {
    type: 'OPT',
    name: '.',
    udpPayloadSize: EDNS_UDP_LIMIT,
    extendedRcode: 0,
    ednsVersion: 0,
    flags: 0,
    flag_do: false,
    options: [],
  };
}

function respond(source: RecordSource, query: DecodedPacket): Packet {
  const question = query.questions?.[0];
  const base: Packet = {
    type: 'response',
    id: query.id ?? 0,
    questions: query.questions ?? [],
    additionals: ednsOf(query) ? [ednsAnswer()] : [],
  };
  const flags = (query.flag_rd ? dnsPacket.RECURSION_DESIRED : 0) | dnsPacket.RECURSION_AVAILABLE;
  if (!question) return { ...base, flags: flags | FORMERR };
  if (question.class !== 'IN') return { ...base, flags: flags | NOTIMP };
  const { rcode, answers } = resolve(source, question);
  return { ...base, flags: flags | rcode, answers };
}

function udpLimit(query: DecodedPacket): number {
  const edns = ednsOf(query);
  if (!edns) return PLAIN_UDP_LIMIT;
  return Math.max(PLAIN_UDP_LIMIT, Math.min(edns.udpPayloadSize, EDNS_UDP_LIMIT));
}

function encodeForUdp(source: RecordSource, query: DecodedPacket): Buffer {
  const response = respond(source, query);
  const encoded = dnsPacket.encode(response);
  if (encoded.length <= udpLimit(query)) return encoded;
  return dnsPacket.encode({ ...response, answers: [], flags: (response.flags ?? 0) | dnsPacket.TRUNCATED_RESPONSE });
}

function decodeQuery(message: Buffer): DecodedPacket | undefined {
  try {
    return dnsPacket.decode(message);
  } catch {
    return undefined;
  }
}

function serveUdp(socket: UdpSocket, source: RecordSource): void {
  socket.on('message', (message: Buffer, peer: RemoteInfo) => {
    const query = decodeQuery(message);
    if (!query) return;
    socket.send(encodeForUdp(source, query), peer.port, peer.address);
  });
}

function serveTcpConnection(connection: TcpSocket, source: RecordSource): void {
  let pending = Buffer.alloc(0);
  connection.on('error', () => connection.destroy());
  connection.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
      const length = pending.readUInt16BE(0);
      const query = decodeQuery(pending.subarray(2, 2 + length));
      pending = pending.subarray(2 + length);
      if (query) connection.write(dnsPacket.streamEncode(respond(source, query)));
    }
  });
}

function bindUdp(host: string, port: number): Promise<UdpSocket> {
  return new Promise((resolveBind, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', reject);
    socket.bind(port, host, () => {
      socket.off('error', reject);
      resolveBind(socket);
    });
  });
}

function listenTcp(server: TcpServer, host: string, port: number): Promise<boolean> {
  return new Promise((resolveListen) => {
    const onError = () => resolveListen(false);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolveListen(true);
    });
  });
}

async function bindBoth(host: string, port: number, tcp: TcpServer): Promise<UdpSocket> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const udp = await bindUdp(host, port);
    if (await listenTcp(tcp, host, udp.address().port)) return udp;
    udp.close();
    if (port !== 0) break;
  }
  throw new Error(`DNS simulator: no port free for both UDP and TCP on ${host}`);
}

/** A DNS server on loopback (UDP, and TCP for truncated answers) answering A, CNAME, TXT and PTR from `source`. */
export async function startDnsServer(
  source: RecordSource,
  options: { host?: string; port?: number } = {},
): Promise<DnsServer> {
  const host = options.host ?? '127.0.0.1';
  const connections = new Set<TcpSocket>();
  const tcp = createServer((connection) => {
    connections.add(connection);
    connection.on('close', () => connections.delete(connection));
    serveTcpConnection(connection, source);
  });
  const udp = await bindBoth(host, options.port ?? 0, tcp);
  serveUdp(udp, source);
  const port = udp.address().port;
  return {
    host,
    port,
    address: `${host}:${port}`,
    close: async () => {
      for (const connection of connections) connection.destroy();
      await Promise.all([
        new Promise<void>((done) => udp.close(() => done())),
        new Promise<void>((done) => tcp.close(() => done())),
      ]);
    },
  };
}
