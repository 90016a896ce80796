import { gunzipSync, inflateRawSync } from 'node:zlib';
import { ReportRejected } from './report-rejected.ts';

/** A report's bytes as receivers send them (`.xml`, `.xml.gz`, `.zip`) to the XML inside, within the limits. */

const MiB = 1024 * 1024;
/** The largest message the mailbox reads (it refuses a larger one without downloading it). */
export const MAX_MESSAGE_BYTES = 10 * MiB;
/** The most XML one report may hold once inflated: past it, inflating stops and the report is refused. */
export const MAX_XML_BYTES = 50 * MiB;

const GZIP_MAGIC = [0x1f, 0x8b];
const ZIP_LOCAL = 0x04034b50;
const ZIP_CENTRAL = 0x02014b50;
const ZIP_END = 0x06054b50;
const ZIP_END_SIZE = 22;
const ZIP_MAX_COMMENT = 0xffff;
const ZIP64_MARK = 0xffffffff;
const STORED = 0;
const DEFLATED = 8;

/** The XML of a report: read as is, gunzipped or unzipped by what its first bytes are, not by its file name. */
export function reportXmlBytes(bytes: Buffer, limit = MAX_XML_BYTES): Buffer {
  if (bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1]) return gunzip(bytes, limit);
  if (bytes.length >= 4 && bytes.readUInt32LE(0) === ZIP_LOCAL) return unzipOne(bytes, limit);
  if (bytes.length >= 4 && bytes.readUInt32LE(0) === ZIP_END) throw new ReportRejected('archive', 'an empty zip');
  if (!/^(\uFEFF)?\s*</.test(bytes.subarray(0, 64).toString('utf8'))) {
    throw new ReportRejected('unknown-format', 'neither XML, gzip nor zip');
  }
  if (bytes.length > limit) throw tooLarge(limit);
  return bytes;
}

function tooLarge(limit: number): ReportRejected {
  return new ReportRejected('too-large', `more than ${limit / MiB} MiB of XML`);
}

/** zlib stops as soon as the output passes `limit`: a bomb is refused while inflating, whatever its header says. */
function inflating(kind: string, limit: number, inflate: () => Buffer): Buffer {
  try {
    return inflate();
  } catch (error) {
    if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(limit);
    throw new ReportRejected('archive', `damaged ${kind} data`);
  }
}

function gunzip(bytes: Buffer, limit: number): Buffer {
  return inflating('gzip', limit, () => gunzipSync(bytes, { maxOutputLength: limit }));
}

interface ZipMember {
  name: string;
  flags: number;
  method: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

/** One report per archive: exactly one `.xml` member (directories and other files are not read). */
function unzipOne(zip: Buffer, limit: number): Buffer {
  const members = centralDirectory(zip).filter((m) => !m.name.endsWith('/'));
  const xml = members.filter((m) => m.name.toLowerCase().endsWith('.xml'));
  const [member] = xml;
  if (!member || xml.length > 1) throw new ReportRejected('archive', `${xml.length} XML members in the zip, not one`);
  return extract(zip, member, limit);
}

function centralDirectory(zip: Buffer): ZipMember[] {
  const end = findEnd(zip);
  const count = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  if (at === ZIP64_MARK) throw new ReportRejected('archive', 'ZIP64 is not read');
  const members: ZipMember[] = [];
  for (let i = 0; i < count; i++) {
    if (at + 46 > zip.length || zip.readUInt32LE(at) !== ZIP_CENTRAL) {
      throw new ReportRejected('archive', 'damaged central directory');
    }
    const nameLength = zip.readUInt16LE(at + 28);
    members.push({
      flags: zip.readUInt16LE(at + 8),
      method: zip.readUInt16LE(at + 10),
      compressedSize: zip.readUInt32LE(at + 20),
      size: zip.readUInt32LE(at + 24),
      localOffset: zip.readUInt32LE(at + 42),
      name: zip.toString('utf8', at + 46, Math.min(zip.length, at + 46 + nameLength)),
    });
    at += 46 + nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
  }
  return members;
}

function findEnd(zip: Buffer): number {
  const lowest = Math.max(0, zip.length - ZIP_END_SIZE - ZIP_MAX_COMMENT);
  for (let at = zip.length - ZIP_END_SIZE; at >= lowest; at--) {
    if (zip.readUInt32LE(at) === ZIP_END) return at;
  }
  throw new ReportRejected('archive', 'no end of central directory');
}

function extract(zip: Buffer, member: ZipMember, limit: number): Buffer {
  if (member.flags & 0x1) throw new ReportRejected('archive', 'an encrypted member');
  if ([member.compressedSize, member.size, member.localOffset].includes(ZIP64_MARK)) {
    throw new ReportRejected('archive', 'ZIP64 is not read');
  }
  const local = member.localOffset;
  if (local + 30 > zip.length || zip.readUInt32LE(local) !== ZIP_LOCAL) {
    throw new ReportRejected('archive', 'damaged local header');
  }
  const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
  const data = zip.subarray(start, start + member.compressedSize);
  if (data.length !== member.compressedSize) throw new ReportRejected('archive', 'a truncated member');
  const xml = inflateMember(member.method, data, limit);
  // The declared size is checked, never relied on: the limit above held whatever it said.
  if (xml.length !== member.size) throw new ReportRejected('archive', 'a member whose size is not the declared one');
  return xml;
}

function inflateMember(method: number, data: Buffer, limit: number): Buffer {
  if (method === STORED) {
    if (data.length > limit) throw tooLarge(limit);
    return data;
  }
  if (method !== DEFLATED) throw new ReportRejected('archive', `compression method ${method} is not read`);
  return inflating('zip', limit, () => inflateRawSync(data, { maxOutputLength: limit }));
}
