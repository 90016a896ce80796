import type { Mailer } from '../providers/mail.ts';
import type { OvhApi } from '../providers/ovh.ts';
import type { EventRepository } from '../store/events.ts';

/** One call to the outside world made by a step, as the audit trail keeps it. Paths and addresses, never secrets. */
export interface OutsideCall {
  provider: 'ovh' | 'smtp';
  method: string;
  path: string;
  status: 'ok' | number | 'network' | 'failed';
}

/** Writes the calls into the audit trail: `ovh_call` and `smtp_send` events with the method, path and status. */
export function auditCalls(events: EventRepository, runId: number, calls: OutsideCall[], now: number): void {
  for (const { provider, method, path, status } of calls) {
    events.add(runId, 'bot', provider === 'ovh' ? 'ovh_call' : 'smtp_send', { method, path, status }, now);
  }
}

/** A call that changed something (or may have): a dropped step must still say it happened. */
export const isChange = (call: OutsideCall) =>
  call.provider === 'smtp' ? call.status !== 'failed' : call.method !== 'GET' && call.status === 'ok';

/** The side effects among `calls`, in words: "at OVH: `POST …`; over SMTP: a mail to x (it may have gone out)". */
export function describeChanges(calls: OutsideCall[]): string | undefined {
  const changes = calls.filter(isChange);
  const atOvh = changes.filter((c) => c.provider === 'ovh').map((c) => `\`${c.method} ${c.path}\``);
  const mails = changes.filter((c) => c.provider === 'smtp');
  const parts = [
    ...(atOvh.length > 0 ? [`at OVH: ${atOvh.join(', ')}`] : []),
    ...mails.map((c) => `over SMTP: a mail to ${c.path}${c.status === 'ok' ? ' (sent)' : ' (it may have gone out)'}`),
  ];
  return parts.length > 0 ? parts.join('; ') : undefined;
}

/** The providers a step uses, each call recorded into `calls`; `beforeChange` runs before each change at OVH. */
export function recorded(
  providers: { ovh?: OvhApi; mail?: Mailer },
  calls: OutsideCall[],
  beforeChange: () => void = () => {},
): { ovh?: OvhApi; mail?: Mailer } {
  const { ovh, mail } = providers;
  const track = async <T>(method: string, path: string, call: () => Promise<T>): Promise<T> => {
    try {
      if (method !== 'GET') beforeChange();
      const result = await call();
      calls.push({ provider: 'ovh', method, path, status: 'ok' });
      return result;
    } catch (error) {
      const status = (error as { status?: number }).status;
      calls.push({ provider: 'ovh', method, path, status: status ?? 'network' });
      throw error;
    }
  };
  return {
    ovh: ovh && {
      get: (path, schema, query) => track('GET', path, () => ovh.get(path, schema, query)),
      post: (path, body, schema) => track('POST', path, () => ovh.post(path, body, schema)),
      put: (path, body, schema) => track('PUT', path, () => ovh.put(path, body, schema)),
      delete: (path, schema) => track('DELETE', path, () => ovh.delete(path, schema)),
    },
    mail: mail && {
      async send(message) {
        try {
          const sent = await mail.send(message);
          calls.push({ provider: 'smtp', method: 'SEND', path: message.to, status: 'ok' });
          return sent;
        } catch (error) {
          const certain = (error as { details?: { call?: string } }).details?.call === 'not-sent';
          calls.push({ provider: 'smtp', method: 'SEND', path: message.to, status: certain ? 'failed' : 'network' });
          throw error;
        }
      },
    },
  };
}
