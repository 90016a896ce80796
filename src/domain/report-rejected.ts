/** Why an aggregate report cannot be read. The message names the fault, never a value of the report. */
export type RejectReason =
  /** Over the limits: 10 MiB a message, 50 MiB of XML once inflated (a zip or gzip bomb). */
  | 'too-large'
  /** A zip the reader cannot take: none or several XML members, encrypted, ZIP64, an unknown compression, damage. */
  | 'archive'
  /** Neither XML, gzip nor zip. */
  | 'unknown-format'
  /** A DOCTYPE or an entity declaration: never expanded, refused. */
  | 'dtd'
  | 'malformed-xml'
  /** Well-formed XML that is not an aggregate report as RFC 7489 or DMARCbis describes it. */
  | 'invalid-report';

export class ReportRejected extends Error {
  constructor(
    readonly reason: RejectReason,
    detail: string,
  ) {
    super(`report refused (${reason}): ${detail}`);
    this.name = 'ReportRejected';
  }
}
