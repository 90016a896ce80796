import { createHash } from 'node:crypto';
import { z } from 'zod';
import { parseDomain } from './names.ts';

/**
 * OVH batch-mail orders (docs/sources/ovh-batch-mail-orders.txt): one zod schema per order, a composer that writes the documented layout, and the MD5
 * signature byte-exact with the documentation's Perl script.
 */

export const BATCH_TEST_ADDRESS = 'batch-test@ovh.com';
export const BATCH_LIVE_ADDRESS = 'batch@ovh.com';

// Control characters, line and paragraph separators and NEL: anything that could start a new line in a mail body.
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
/** Something that reads like another field of the order, e.g. "x batch.autopayment: yes". */
const SMUGGLED_KEY = /(^|\s)[a-z]+(\.[a-z0-9]+)+\s*:/i;

/** A single-line value: no control characters, no smuggled `key: value`, no leading colon. */
export const safeValue = (max = 200) =>
  z
    .string()
    .trim()
    .max(max, `at most ${max} characters`)
    .refine((v) => !UNSAFE.test(v), 'must be one line, without control characters')
    .refine((v) => !SMUGGLED_KEY.test(v) && !v.startsWith(':'), 'must not contain another field (key: value)');

const contactId = safeValue(40).pipe(
  z.string().regex(/^[a-z]{2}\d+-ovh$/i, 'must be an OVH contact id such as ab1234-ovh'),
);
/** Host names go through the one domain normaliser, as every other name does. */
const hostname = z.string().transform((value, ctx) => {
  const parsed = parseDomain(value);
  if (parsed.ok) return parsed.domain.ascii;
  ctx.addIssue({ code: 'custom', message: parsed.error });
  return z.NEVER;
});
const ipv4 = z
  .string()
  .regex(/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/, 'must be an IPv4 address');

export const nameServerSchema = z.object({ host: hostname, ip: ipv4.optional() });
export type NameServer = z.infer<typeof nameServerSchema>;

/** The owner's fields in the documented order. */
export const OWNER_FIELDS = [
  'legalform',
  'vat',
  'name',
  'firstname',
  'organisation',
  'email',
  'address',
  'city',
  'zip',
  'country',
  'language',
  'phone',
  'fax',
] as const;

const ownerFieldsSchema = z.object({
  legalform: z.enum(['corporation', 'individual', 'association', 'other']),
  name: safeValue(80).pipe(z.string().min(1, 'required')),
  firstname: safeValue(80).pipe(z.string().min(1, 'required')),
  organisation: safeValue(100).optional(),
  vat: safeValue(30).optional(),
  email: safeValue(120).pipe(z.email('must be an email address')),
  address: safeValue(200).pipe(z.string().min(1, 'required')),
  city: safeValue(80).pipe(z.string().min(1, 'required')),
  zip: safeValue(20).pipe(z.string().regex(/^[A-Za-z0-9 -]{2,12}$/, 'must be a postal code')),
  country: z.string().regex(/^[A-Z]{2}$/, 'must be a two-letter country code such as FR'),
  language: z.string().regex(/^[a-z]{2}$/, 'must be a two-letter language code such as fr'),
  phone: z.string().regex(/^\+\d{1,3}\.\d{4,14}$/, 'must be written +33.123456789'),
  fax: z
    .string()
    .regex(/^(\+\d{1,3}\.\d{4,14})?$/, 'must be written +33.123456789')
    .optional(),
});

export const ownerSchema = z.union([z.object({ id: contactId }), ownerFieldsSchema]);
export type Owner = z.infer<typeof ownerSchema>;

export const identificationSchema = z.object({
  method: z.enum(['siren', 'inpi', 'birthPlace', 'afnicIdent']),
  legalName: safeValue(100).optional(),
  legalNumber: safeValue(30).optional(),
  afnicIdent: safeValue(30).optional(),
  birthDate: z
    .string()
    .regex(/^\d{2}\/\d{2}\/\d{4}$/, 'must be written dd/mm/yyyy')
    .optional(),
  birthCity: safeValue(80).optional(),
  birthDepartement: safeValue(10).optional(),
  birthCountry: z
    .string()
    .regex(/^[A-Z]{2}$/)
    .optional(),
});

const domainName = z.string().refine((value) => {
  const parsed = parseDomain(value);
  return parsed.ok && parsed.domain.ascii === value;
}, 'must be a normalised (ASCII) domain name');

const common = { domain: domainName };

export const renewOrderSchema = z.object({ command: z.literal('renew'), ...common });

const acquisition = {
  ...common,
  hostingType: z.enum(['none', '90plan', '720plan', 'xxlplan', 'mediaplan']).default('none'),
  offer: z.enum(['gold', 'platine', 'diamond']).default('gold'),
  resellerProfile: z.enum(['none', 'whiteLabel', 'agent']).default('none'),
  owner: ownerSchema,
  tech: contactId,
  admin: contactId,
  billing: contactId,
  identification: identificationSchema.optional(),
  dnsGroup: z.enum(['hosting', 'dedicated', 'external']).optional(),
  nameServers: z.array(nameServerSchema).max(5).optional(),
  owo: z.enum(['yes', 'no']).optional(),
};

export const createOrderSchema = z.object({ command: z.literal('create'), ...acquisition });
export const transferOrderSchema = z.object({
  command: z.literal('transfer'),
  ...acquisition,
  authinfo: safeValue(64).pipe(z.string().regex(/^\S{4,64}$/, 'must be the transfer code, without spaces')),
});
export const dnsOrderSchema = z.object({
  command: z.literal('dns'),
  ...common,
  nameServers: z.array(nameServerSchema).min(1, 'at least one name server').max(4, 'at most four name servers'),
});

export const orderSchema = z
  .discriminatedUnion('command', [renewOrderSchema, createOrderSchema, transferOrderSchema, dnsOrderSchema])
  .superRefine((order, ctx) => {
    if (
      (order.command === 'create' || order.command === 'transfer') &&
      order.domain.endsWith('.fr') &&
      !order.identification
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['identification'],
        message: 'a .fr domain needs the identification section',
      });
    }
  });
export type BatchOrder = z.infer<typeof orderSchema>;

export interface BatchHeader {
  account: string;
  referer: string;
  autopayment: boolean;
}

/** The order in the documented layout, ending with a newline; without the signature line. */
export function composeOrder(order: BatchOrder, header: BatchHeader): string {
  const batchType = order.command === 'dns' ? 'soapi' : 'orderDomain';
  const sections: string[][] = [
    [
      'batch.version: 4.0',
      `batch.account: ${header.account}`,
      `batch.referer: ${header.referer}`,
      `batch.type: ${batchType}`,
      'batch.auth.method: md5',
      `batch.autopayment: ${header.autopayment ? 'yes' : 'no'}`,
    ],
  ];
  if (order.command === 'dns') {
    sections.push([
      'soapi.method: domainDnsUpdate',
      `soapi.param.domain: ${order.domain}`,
      ...order.nameServers.map((ns, i) => `soapi.param.dns${i + 1}: ${nameServerText(ns)}`),
    ]);
  } else if (order.command === 'renew') {
    sections.push([`order.domain.name: ${order.domain}`, 'order.domain.command: renew']);
  } else {
    sections.push([
      `order.domain.name: ${order.domain}`,
      `order.domain.command: ${order.command}`,
      `order.hosting.type: ${order.hostingType}`,
      `order.offer: ${order.offer}`,
      `order.resellerProfile: ${order.resellerProfile}`,
    ]);
    sections.push(ownerLines(order.owner));
    sections.push([
      `contact.tech.id: ${order.tech}`,
      `contact.admin.id: ${order.admin}`,
      `contact.billing.id: ${order.billing}`,
    ]);
    if (order.identification) sections.push(identificationLines(order.identification));
    if (order.dnsGroup || order.nameServers?.length) sections.push(dnsLines(order.dnsGroup, order.nameServers ?? []));
    if (order.command === 'transfer') sections.push([`option.domain.authinfo: ${order.authinfo}`]);
    if (order.owo) sections.push([`option.owo: ${order.owo}`]);
  }
  return `${sections.map((lines) => lines.join('\n')).join('\n\n')}\n\n`;
}

function nameServerText(ns: NameServer): string {
  return ns.ip ? `${ns.host} ${ns.ip}` : ns.host;
}

function ownerLines(owner: Owner): string[] {
  if ('id' in owner) return [`contact.owner.id: ${owner.id}`];
  const fields = OWNER_FIELDS;
  return fields.map((field) => `contact.owner.${field}: ${owner[field] ?? ''}`.trimEnd());
}

function identificationLines(id: z.infer<typeof identificationSchema>): string[] {
  const fields = [
    'method',
    'legalName',
    'legalNumber',
    'afnicIdent',
    'birthDate',
    'birthCity',
    'birthDepartement',
    'birthCountry',
  ] as const;
  return fields.map((field) => `option.identification.${field}: ${id[field] ?? ''}`.trimEnd());
}

function dnsLines(group: string | undefined, servers: NameServer[]): string[] {
  const [master, ...slaves] = servers;
  return [
    ...(group ? [`option.dns.group: ${group}`] : []),
    ...(master ? [`option.dns.master: ${nameServerText(master)}`] : []),
    ...slaves.map((ns, i) => `option.dns.slave${i + 1}: ${nameServerText(ns)}`),
  ];
}

/**
 * The documentation's Perl: `$t = $passphrase.$body; $t =~ s/\s//g; md5_hex($t)`, on the UTF-8 bytes. Perl reads the file as
 * bytes, so `\s` removes exactly the ASCII white space bytes (space, \t, \n, \v, \f, \r); UTF-8 multi-byte sequences
 * never contain them.
 */
export function batchSignature(passphrase: string, body: string): string {
  const bytes = Buffer.from(passphrase + body, 'utf8');
  const kept = bytes.filter((b) => b !== 0x20 && (b < 0x09 || b > 0x0d));
  return createHash('md5').update(kept).digest('hex');
}

/** The body as sent: the order, then `batch.auth.md5: <hex>` and a newline, as the Perl script appends it. */
export function signOrder(passphrase: string, body: string): string {
  return `${body}batch.auth.md5: ${batchSignature(passphrase, body)}\n`;
}

/** `host` or `host=ip` (the documentation's "host ip" pair, written without the space so arguments split on white space). */
export function parseNameServer(arg: string): NameServer | string {
  const [host, ip, extra] = arg.split('=');
  const parsed = nameServerSchema.safeParse({ host, ip: ip || undefined });
  if (extra !== undefined || !parsed.success) {
    return `"${arg.slice(0, 80)}" is not a name server (host or host=ip): ${parsed.success ? 'too many =' : parsed.error.issues[0]?.message}`;
  }
  return parsed.data;
}

const HIDDEN = '[hidden]';

/** The order as shown on the approval card: everything approvers must check, the transfer code masked. */
export function orderForPreview(order: BatchOrder): BatchOrder {
  return order.command === 'transfer' ? { ...order, authinfo: '********' } : order;
}

/** The order as the audit trail keeps it: no transfer code, no owner's personal fields. */
export function orderForAudit(order: BatchOrder): Record<string, unknown> {
  if (order.command !== 'create' && order.command !== 'transfer') return order;
  const owner = 'id' in order.owner ? order.owner : { personalFields: HIDDEN };
  const identification = order.identification && identificationForAudit(order.identification);
  return {
    ...order,
    owner,
    ...(identification ? { identification } : {}),
    ...(order.command === 'transfer' ? { authinfo: HIDDEN } : {}),
  };
}

/** A .fr owner's identification: the company's public numbers stay; a person's birth date and place do not. */
function identificationForAudit(id: z.infer<typeof identificationSchema>): Record<string, unknown> {
  const { birthDate, birthCity, birthDepartement, birthCountry, ...kept } = id;
  const personal = [birthDate, birthCity, birthDepartement, birthCountry].some((v) => v !== undefined);
  return personal ? { ...kept, birthPlace: HIDDEN } : kept;
}

export function orderProblems(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || 'order'}: ${i.message}`).join('; ');
}
