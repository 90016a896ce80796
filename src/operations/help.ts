/** The bot's own words for people: what it can do, and how a command is written. */

export const BATCH_USAGE =
  'Usage: `/dkim batch renew example.fr` · `create example.fr` · `transfer example.fr <authinfo>` · `dns example.fr ns1.host [ns2.host=192.0.2.1 …]` (up to four)';

export const SERVICE_USAGE =
  '`--service` takes `exchange/<organization>/<service>`, `pro/<service>` or `mxplan` (as `/dkim list` or the OVH Control Panel names them).';

export const REPORT_USAGE = 'Usage: `/dkim report example.fr [days]` (the last 7 days unless you say)';

export const HELP = [
  '*dkim-bot* turns DKIM provisioning into one command.',
  '`/dkim setup example.fr [--service …]` — DKIM end to end on the OVH mail offer hosting the domain (Exchange, Email Pro, MX Plan)',
  '`/dkim vtex example.fr no-reply@example.fr` — get the VTEX / Amazon SES DKIM keys of a sender and publish them',
  '`/dkim rotate example.fr` — sign with the spare selector, retire the old key after a grace period, make it the new spare (Exchange, Email Pro)',
  '`/dkim disable example.fr` — turn DKIM signing off (after an approval; keys and records stay)',
  "`/dkim dmarc example.fr` — for a domain that signs: SPF with `include:mx.ovh.com` and a DMARC record (`p=none`, reports to the bot) on one card; then, on the receivers' reports, a step-up to `quarantine` and `reject`, each after an approval",
  '`/dkim scan` — every domain of the account: DKIM at OVH and in DNS, SPF, DMARC, what to do next; *Set up* buttons, and *Set up all* as one group with one approval',
  '`/dkim batch renew|create|transfer|dns example.fr …` — compose, sign and (after approval) send an OVH batch order',
  "`/dkim report example.fr [days]` — what receivers' DMARC reports say of the domain's mail over the last 7 days (or `days`): DMARC, DKIM per selector and SPF pass rates, the top failing sources",
  '`/dkim status [setup|rotate|disable|dmarc|vtex|batch] [example.fr]` — where a run stands (all active runs without a domain); `/dkim status scan|group` — the latest scan or group',
  '`/dkim list` — active runs and the latest finished ones',
  '`/dkim cancel [setup|rotate|disable|dmarc|vtex|batch] example.fr` — stop an active run (its requester or an approver); `/dkim cancel scan|group` too',
  '`/dkim retry [setup|rotate|disable|dmarc|vtex|batch] example.fr` — resume a stalled or failed run, or post a fresh approval card',
  '`/dkim help` — this text',
].join('\n');
