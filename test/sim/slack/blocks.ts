/**
 * Block Kit as Slack treats it: the limits it enforces that a bot most often trips over (messages and views), and
 * what a message shows as text.
 */
import { type Args, arrayOf, fail, isObject } from './common.ts';
import type { StoredMessage } from './types.ts';

const MESSAGE_BLOCK_LIMIT = 50;
const VIEW_BLOCK_LIMIT = 100;
const MESSAGE_TEXT_LIMIT = 40_000;

/* ------------------------------------------------------------------------------------------------------------------ */
/* Block Kit checks: the limits Slack enforces that a bot most often trips over                                        */

const BLOCK_TYPES = new Set([
  'actions',
  'context',
  'divider',
  'file',
  'header',
  'image',
  'input',
  'markdown',
  'rich_text',
  'section',
  'table',
  'video',
]);

function textObjectProblems(value: unknown, pointer: string, maxLength: number, plainOnly = false): string[] {
  if (!isObject(value)) return [`must be a text object [json-pointer:${pointer}]`];
  const allowed = plainOnly ? ['plain_text'] : ['plain_text', 'mrkdwn'];
  if (!allowed.includes(String(value.type)))
    return [`must be one of ${allowed.join(', ')} [json-pointer:${pointer}/type]`];
  if (typeof value.text !== 'string' || value.text.length === 0) {
    return [`must be more than 0 characters [json-pointer:${pointer}/text]`];
  }
  if (value.text.length > maxLength)
    return [`must be less than ${maxLength + 1} characters [json-pointer:${pointer}/text]`];
  return [];
}

function lengthProblem(value: unknown, pointer: string, maxLength: number): string[] {
  if (value === undefined) return [];
  if (typeof value !== 'string' || value.length > maxLength) {
    return [`must be a string of at most ${maxLength} characters [json-pointer:${pointer}]`];
  }
  return [];
}

function elementProblems(element: unknown, pointer: string): string[] {
  if (!isObject(element) || typeof element.type !== 'string') return [`must be an element [json-pointer:${pointer}]`];
  const problems = lengthProblem(element.action_id, `${pointer}/action_id`, 255);
  if (element.type !== 'button') return problems;
  problems.push(...textObjectProblems(element.text, `${pointer}/text`, 75, true));
  problems.push(...lengthProblem(element.value, `${pointer}/value`, 2000));
  problems.push(...lengthProblem(element.url, `${pointer}/url`, 3000));
  if (element.style !== undefined && element.style !== 'primary' && element.style !== 'danger') {
    problems.push(`must be primary or danger [json-pointer:${pointer}/style]`);
  }
  return problems;
}

function countProblem(items: unknown, pointer: string, max: number): string[] {
  if (!Array.isArray(items) || items.length === 0) return [`must be a non-empty array [json-pointer:${pointer}]`];
  return items.length > max ? [`no more than ${max} items allowed [json-pointer:${pointer}]`] : [];
}

function sectionProblems(block: Args, pointer: string): string[] {
  if (block.text === undefined && block.fields === undefined)
    return [`must provide text or fields [json-pointer:${pointer}]`];
  const problems = block.text === undefined ? [] : textObjectProblems(block.text, `${pointer}/text`, 3000);
  if (block.fields !== undefined) {
    problems.push(...countProblem(block.fields, `${pointer}/fields`, 10));
    arrayOf(block.fields).forEach((field, i) => {
      problems.push(...textObjectProblems(field, `${pointer}/fields/${i}`, 2000));
    });
  }
  if (block.accessory !== undefined) problems.push(...elementProblems(block.accessory, `${pointer}/accessory`));
  return problems;
}

function actionsProblems(block: Args, pointer: string): string[] {
  const problems = countProblem(block.elements, `${pointer}/elements`, 25);
  const actionIds = new Set<string>();
  arrayOf(block.elements).forEach((element, i) => {
    problems.push(...elementProblems(element, `${pointer}/elements/${i}`));
    const actionId = isObject(element) ? element.action_id : undefined;
    if (typeof actionId !== 'string') return;
    if (actionIds.has(actionId))
      problems.push(`duplicate action_id ${actionId} [json-pointer:${pointer}/elements/${i}]`);
    actionIds.add(actionId);
  });
  return problems;
}

function typedBlockProblems(block: Args, pointer: string): string[] {
  switch (block.type) {
    case 'section':
      return sectionProblems(block, pointer);
    case 'header':
      return textObjectProblems(block.text, `${pointer}/text`, 150, true);
    case 'context':
      return countProblem(block.elements, `${pointer}/elements`, 10);
    case 'actions':
      return actionsProblems(block, pointer);
    default:
      return [];
  }
}

function blockProblems(block: unknown, pointer: string, blockIds: Set<string>): string[] {
  if (!isObject(block) || typeof block.type !== 'string')
    return [`must be a block with a type [json-pointer:${pointer}]`];
  if (!BLOCK_TYPES.has(block.type)) return [`unsupported type: ${block.type} [json-pointer:${pointer}/type]`];
  const problems = lengthProblem(block.block_id, `${pointer}/block_id`, 255);
  if (typeof block.block_id === 'string') {
    if (blockIds.has(block.block_id)) problems.push(`duplicate block_id ${block.block_id} [json-pointer:${pointer}]`);
    blockIds.add(block.block_id);
  }
  return [...problems, ...typedBlockProblems(block, pointer)];
}

/** The blocks, checked like Slack checks them; throws `invalid_blocks_format` / `invalid_blocks`. */
function validBlocks(value: unknown, limit: number): unknown[] {
  if (!Array.isArray(value)) fail('invalid_blocks_format');
  const problems = value.length > limit ? [`no more than ${limit} items allowed [json-pointer:/blocks]`] : [];
  const blockIds = new Set<string>();
  value.forEach((block, i) => {
    problems.push(...blockProblems(block, `/blocks/${i}`, blockIds));
  });
  if (problems.length > 0) {
    fail('invalid_blocks', { errors: problems, response_metadata: { messages: problems.map((p) => `[ERROR] ${p}`) } });
  }
  return value;
}

function viewProblems(view: Args, kind: 'home' | 'modal'): string[] {
  const problems = lengthProblem(view.private_metadata, '/view/private_metadata', 3000);
  problems.push(...lengthProblem(view.callback_id, '/view/callback_id', 255));
  if (kind === 'modal') {
    problems.push(...textObjectProblems(view.title, '/view/title', 24, true));
    if (view.submit !== undefined) problems.push(...textObjectProblems(view.submit, '/view/submit', 24, true));
  }
  return problems;
}

/** The view, checked like views.open/publish/update check it; throws `invalid_arguments` / `invalid_blocks`. */
export function validView(value: unknown, kind: 'home' | 'modal'): Args {
  if (!isObject(value) || value.type !== kind) fail('invalid_arguments');
  const problems = viewProblems(value, kind);
  if (problems.length > 0) {
    fail('invalid_arguments', { response_metadata: { messages: problems.map((p) => `[ERROR] ${p}`) } });
  }
  validBlocks(value.blocks ?? [], VIEW_BLOCK_LIMIT);
  return value;
}

/** The text and blocks of a chat.postMessage / chat.update / chat.postEphemeral, checked like Slack checks them. */
export function messageContent(args: Args, requireSomething: boolean): { text?: string; blocks?: unknown[] } {
  const text = args.text === undefined ? undefined : String(args.text);
  const blocks = args.blocks === undefined ? undefined : validBlocks(args.blocks, MESSAGE_BLOCK_LIMIT);
  if (requireSomething && !text && !blocks?.length && args.attachments === undefined) fail('no_text');
  if (text !== undefined && text.length > MESSAGE_TEXT_LIMIT) fail('msg_too_long');
  return { text, blocks };
}

/* ------------------------------------------------------------------------------------------------------------------ */
/* Rendering messages as text                                                                                         */

export function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  return isObject(value) && typeof value.text === 'string' ? value.text : undefined;
}

function present(values: Array<string | undefined>): string[] {
  return values.filter((value): value is string => value !== undefined && value !== '');
}

function elementLabel(element: unknown): string | undefined {
  if (!isObject(element)) return undefined;
  if (element.type === 'button') return `[${textOf(element.text) ?? ''}]`;
  const placeholder = textOf(element.placeholder);
  return placeholder === undefined ? undefined : `[${placeholder} ▾]`;
}

function richText(element: unknown): string {
  if (!isObject(element)) return '';
  switch (element.type) {
    case 'text':
      return String(element.text ?? '');
    case 'link':
      return String(element.text ?? element.url ?? '');
    case 'user':
      return `<@${String(element.user_id)}>`;
    case 'channel':
      return `<#${String(element.channel_id)}>`;
    case 'emoji':
      return `:${String(element.name)}:`;
    case 'rich_text_list':
      return arrayOf(element.elements)
        .map((item) => `• ${richText(item)}`)
        .join('\n');
    default: {
      const separator = element.type === 'rich_text' ? '\n' : '';
      return arrayOf(element.elements).map(richText).join(separator);
    }
  }
}

function blockTexts(block: unknown): string[] {
  if (!isObject(block)) return [];
  switch (block.type) {
    case 'section':
      return present([textOf(block.text), ...arrayOf(block.fields).map(textOf), elementLabel(block.accessory)]);
    case 'header':
    case 'markdown':
      return present([textOf(block.text)]);
    case 'context':
      return present([present(arrayOf(block.elements).map(textOf)).join('  ')]);
    case 'actions':
      return present([present(arrayOf(block.elements).map(elementLabel)).join(' ')]);
    case 'rich_text':
      return present([richText(block)]);
    case 'input':
      return present([textOf(block.label)]);
    default:
      return [];
  }
}

/** What Slack shows for a message: its blocks when they say something, else its text; then `[file: <name>]` a file. */
export function messageLines(message: { text?: string; blocks?: unknown[]; files?: { name: string }[] }): string[] {
  const fromBlocks = arrayOf(message.blocks).flatMap(blockTexts);
  const texts = fromBlocks.length > 0 ? fromBlocks : [message.text ?? ''];
  const lines = texts.flatMap((text) => text.split('\n'));
  const files = (message.files ?? []).map((file) => `[file: ${file.name}]`);
  if (files.length === 0) return lines;
  return lines.length === 1 && lines[0] === '' ? files : [...lines, ...files];
}

export function renderMessage(message: StoredMessage, marker: string, indent: string): string[] {
  const [first = '', ...rest] = messageLines(message);
  const edits = message.versions.length - 1;
  const edited = edits > 0 ? `  (edited ${edits}×)` : '';
  return [`${indent}${marker} ${first}${edited}`, ...rest.map((line) => `${indent}  ${line}`)];
}
