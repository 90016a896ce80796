import type { Run } from '../domain/runs.ts';
import type { Text } from '../domain/text.ts';

/**
 * What a person can ask of the bot, whatever the face (Slack or the CLI). Input is validated before anything is
 * written or called; every answer is a short text for that person alone.
 */
export interface Reply {
  ok: boolean;
  text: Text;
  run?: Run;
}

/** What a create or transfer order still needs from a form: the owner and the contacts. */
export interface BatchFormRequest {
  command: 'create' | 'transfer';
  domain: string;
  authinfo?: string;
  defaults: { owner?: string; tech?: string; admin?: string; billing?: string };
  needsIdentification: boolean;
}

export function asReply(result: { ok: boolean; message: Text; run?: Run }): Reply {
  return { ok: result.ok, text: result.message, run: result.run };
}
