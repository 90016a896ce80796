import type { KnownBlock, ModalView } from '@slack/types';
import { OWNER_FIELDS } from '../../domain/batch.ts';
import type { BatchFormRequest } from '../../operations/index.ts';

/** The modal collecting the owner and contacts of a create or transfer order (pure Block Kit). */

export const BATCH_FORM_CALLBACK = 'dkim_batch_form';

export interface BatchFormMetadata {
  command: 'create' | 'transfer';
  domain: string;
  /** Where the transfer's authinfo waits on the bot's side (FormDrafts): the code itself never goes to Slack. */
  draft?: string;
  channel: string;
}

type Option = { text: { type: 'plain_text'; text: string }; value: string };
const option = (value: string): Option => ({ text: { type: 'plain_text', text: value }, value });

function text(
  blockId: string,
  label: string,
  options: { initial?: string; optional?: boolean; hint?: string } = {},
): KnownBlock {
  return {
    type: 'input',
    block_id: blockId,
    optional: options.optional ?? false,
    label: { type: 'plain_text', text: label },
    ...(options.hint ? { hint: { type: 'plain_text', text: options.hint } } : {}),
    element: {
      type: 'plain_text_input',
      action_id: 'value',
      max_length: 200,
      ...(options.initial ? { initial_value: options.initial } : {}),
    },
  };
}

function select(blockId: string, label: string, values: string[], initial?: string, optional = false): KnownBlock {
  return {
    type: 'input',
    block_id: blockId,
    optional,
    label: { type: 'plain_text', text: label },
    element: {
      type: 'static_select',
      action_id: 'value',
      options: values.map(option),
      ...(initial ? { initial_option: option(initial) } : {}),
    },
  };
}

export function batchForm(request: BatchFormRequest, channel: string, draft?: string): ModalView {
  const metadata: BatchFormMetadata = {
    command: request.command,
    domain: request.domain,
    ...(draft ? { draft } : {}),
    channel,
  };
  const d = request.defaults;
  const blocks: KnownBlock[] = [
    {
      type: 'section',
      text: {
        type: 'mrkdwn',
        text: `*${request.command}* \`${request.domain}\`: give the owner as an OVH contact id, or fill in the owner's fields.`,
      },
    },
    select('offer', 'Offer', ['gold', 'platine', 'diamond'], 'gold'),
    select('hostingType', 'Hosting', ['none', '90plan', '720plan', 'xxlplan', 'mediaplan'], 'none'),
    text('owner_id', 'Owner contact id', {
      initial: d.owner,
      optional: true,
      hint: 'e.g. ab1234-ovh; leave empty to use the fields below',
    }),
    select(
      'owner_legalform',
      'Owner legal form',
      ['corporation', 'individual', 'association', 'other'],
      undefined,
      true,
    ),
    text('owner_name', 'Owner last name', { optional: true }),
    text('owner_firstname', 'Owner first name', { optional: true }),
    text('owner_organisation', 'Organisation', { optional: true }),
    text('owner_email', 'Owner email', { optional: true }),
    text('owner_address', 'Address', { optional: true }),
    text('owner_city', 'City', { optional: true }),
    text('owner_zip', 'Postal code', { optional: true }),
    text('owner_country', 'Country (two letters)', { optional: true, initial: 'FR' }),
    text('owner_language', 'Language (two letters)', { optional: true, initial: 'fr' }),
    text('owner_phone', 'Phone (+33.123456789)', { optional: true }),
    text('tech', 'Technical contact id', { initial: d.tech }),
    text('admin', 'Administrative contact id', { initial: d.admin }),
    text('billing', 'Billing contact id', { initial: d.billing }),
  ];
  if (request.needsIdentification) {
    blocks.push(
      { type: 'section', text: { type: 'mrkdwn', text: '*.fr identification* (mandatory for .fr)' } },
      select('ident_method', 'Identification method', ['siren', 'inpi', 'birthPlace', 'afnicIdent'], 'siren'),
      text('ident_legalName', 'Legal name', { optional: true }),
      text('ident_legalNumber', 'Legal number (SIREN…)', { optional: true }),
      text('ident_birthDate', 'Birth date (dd/mm/yyyy)', { optional: true }),
      text('ident_birthCity', 'Birth city', { optional: true }),
      text('ident_birthDepartement', 'Birth département', { optional: true }),
      text('ident_birthCountry', 'Birth country (two letters)', { optional: true }),
    );
  }
  return {
    type: 'modal',
    callback_id: BATCH_FORM_CALLBACK,
    private_metadata: JSON.stringify(metadata),
    title: { type: 'plain_text', text: `Batch ${request.command}` },
    submit: { type: 'plain_text', text: 'Preview order' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks,
  };
}

type StateValues = Record<
  string,
  Record<string, { value?: string | null; selected_option?: { value: string } | null }>
>;

/** The submitted form as an order object, to be validated by the order schema. Empty fields are left out. */
export function orderFromForm(
  metadata: BatchFormMetadata,
  values: StateValues,
  authinfo?: string,
): Record<string, unknown> {
  const read = (blockId: string): string | undefined => {
    const field = values[blockId]?.value;
    const raw = field?.selected_option?.value ?? field?.value ?? undefined;
    return raw === null || raw === undefined || raw.trim() === '' ? undefined : raw;
  };
  const ownerId = read('owner_id');
  const ownerFields = OWNER_FIELDS;
  const owner = ownerId
    ? { id: ownerId }
    : Object.fromEntries(ownerFields.map((f) => [f, read(`owner_${f}`)]).filter(([, v]) => v !== undefined));
  const identFields = [
    'method',
    'legalName',
    'legalNumber',
    'birthDate',
    'birthCity',
    'birthDepartement',
    'birthCountry',
  ];
  const identification = read('ident_method')
    ? Object.fromEntries(identFields.map((f) => [f, read(`ident_${f}`)]).filter(([, v]) => v !== undefined))
    : undefined;
  return {
    command: metadata.command,
    domain: metadata.domain,
    ...(authinfo ? { authinfo } : {}),
    offer: read('offer'),
    hostingType: read('hostingType'),
    owner,
    tech: read('tech'),
    admin: read('admin'),
    billing: read('billing'),
    ...(identification ? { identification } : {}),
  };
}

/** Zod issue paths → the form's block ids, for Slack's inline errors. */
export function formErrors(issues: { path: PropertyKey[]; message: string }[]): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const issue of issues) {
    const [head, field] = issue.path.map(String);
    const blockId =
      head === 'owner'
        ? field && field !== 'id'
          ? `owner_${field}`
          : 'owner_id'
        : head === 'identification'
          ? `ident_${field ?? 'method'}`
          : (head ?? 'tech');
    errors[blockId] ??= issue.message;
  }
  return errors;
}
