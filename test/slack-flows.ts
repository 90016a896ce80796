import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { secretValues } from '../src/config/index.ts';
import { BATCH_FORM_CALLBACK } from '../src/slack/render/batch-form.ts';
import { APPROVE_ACTION, REJECT_ACTION } from '../src/slack/render/cards.ts';
import { bigAccount } from './fleet-fixtures.ts';
import { APPROVER, isState, OUTSIDER, REQUESTER } from './harness.ts';
import { textInputs } from './sim/slack.ts';
import { assertNothingStarted, card, type FlowCase, readyThread, text } from './slack-flow-helpers.ts';
import { displayFlows } from './slack-flows-display.ts';
import { latestRun } from './slack-harness.ts';

/**
 * The end-to-end Slack flows, written once and run over both ways Slack reaches the bot: signed HTTP requests
 * (test/slack.test.ts) and Socket Mode envelopes (test/slack-socket.test.ts). What Slack shows (escaping, cards,
 * limits) has flows of its own in test/slack-flows-display.ts.
 */

export { assertNothingStarted, card, inMode, readyThread, text } from './slack-flow-helpers.ts';

const coreFlows: Record<string, FlowCase> = {
  'the whole setup: one thread, edited parent, mentions, approval card, production': {
    async run(h) {
      const answer = await h.command('setup example.fr');
      assert.equal(answer.status, 200);
      assert.equal(answer.json?.response_type, 'ephemeral');
      assert.match(answer.json?.text ?? '', /Started DKIM setup for example\.fr/);
      h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'example.fr', zone: true });
      const runId = latestRun(h).id;
      const waiting = await h.drive(isState('awaiting_approval', 'failed'), runId);
      // The domain was added after the command: discovery fails first, retry resumes.
      if (waiting.state === 'failed') {
        assert.match(waiting.lastError ?? '', /No Hosted Exchange service/);
        assert.equal((await h.command('retry example.fr')).status, 200);
        await h.drive(isState('awaiting_approval'), runId);
      }
      const top = h.slack.messages('C1');
      assert.equal(top.length, 1, 'one top-level message per run');
      const parent = top[0]!;
      const approvalCard = card(h, 'C1', parent.ts);
      assert.match(text(approvalCard), /Enable DKIM signing for example\.fr\?/);
      assert.match(text(approvalCard), /\[Approve\] \[Reject\]/);
      assert.match(text(approvalCard), /Who may approve: <@UAPPROVER>, <!subteam\^SAPPROVERS>/);
      const thread = h.slack.thread('C1', parent.ts);
      assert.ok(
        thread.slice(1).every((m) => m.thread_ts === parent.ts),
        'every later message is a threaded reply',
      );
      // The card is the news that the keys are ready: its first line names the requester, which notifies them.
      assert.match(
        text(approvalCard).split('\n')[0] ?? '',
        new RegExp(`Enable DKIM signing for example\\.fr\\?\\* — for <@${REQUESTER}>`),
      );
      assert.match(text(approvalCard), /The keys are ready: OVH sees the record and DNS serves the key/);

      const click = await h.click(approvalCard, APPROVE_ACTION, APPROVER);
      assert.equal(click.status, 200);
      const done = await h.drive(isState('done', 'failed'), runId);
      assert.equal(done.state, 'done', done.lastError ?? '');
      const decided = h.slack.message('C1', approvalCard.ts)!;
      assert.match(text(decided), /Approved by <@UAPPROVER> at/);
      assert.doesNotMatch(text(decided), /\[Approve\]/);
      const final = h.slack.thread('C1', parent.ts);
      assert.ok(
        final.some((m) => text(m).startsWith(`<@${REQUESTER}>`) && /in production for example\.fr/.test(text(m))),
      );
      const edited = h.slack.message('C1', parent.ts)!;
      assert.ok(edited.versions.length >= 5, `the parent is edited in place (${edited.versions.length} versions)`);
      assert.match(text(edited), /Done/);
      assert.equal(h.sim.count('POST', /\/enable$/), 1);
      assert.equal(h.slack.messages('C1').length, 1);
      assert.equal(h.bot.core.store.outbox.pendingCount(), 0);
      const seen = `${h.logLines.join('\n')}\n${JSON.stringify(h.slack.calls)}`;
      for (const secret of secretValues(h.env)) assert.ok(!seen.includes(secret), `a secret reached the logs or Slack`);
    },
  },

  'bad input, help and unknown subcommands are answered privately and start nothing': {
    async run(h) {
      for (const [command, expected] of [
        ['setup exa mple.fr', /Not started/],
        ['setup <script>.fr', /Not started/],
        ['setup', /Not started: a domain name is required/],
        ['help', /\/dkim setup example\.fr/],
        ['frobnicate', /Unknown command `frobnicate`/],
        ['', /\/dkim setup example\.fr/],
        ['status', /No active runs/],
        ['cancel nothing.fr', /no active run/],
      ] as const) {
        const answer = await h.command(command);
        assert.equal(answer.status, 200);
        assert.equal(answer.json?.response_type, 'ephemeral', command);
        assert.match(answer.json?.text ?? '', expected, command);
      }
      await assertNothingStarted(h);
    },
  },

  'self-approval and a non-approver are refused privately; a double click enables once; a second setup links': {
    async run(h) {
      const { run, parentTs } = await readyThread(h, 'clicks.fr');
      const approvalCard = card(h, 'C1', parentTs);
      const self = await h.click(approvalCard, APPROVE_ACTION, REQUESTER);
      const outsider = await h.click(approvalCard, REJECT_ACTION, OUTSIDER);
      assert.equal(self.status, 200);
      await h.slack.waitFor(() => h.slack.responses(outsider.responseUrlId).length > 0);
      assert.match(JSON.stringify(h.slack.responses(self.responseUrlId)), /someone else must approve/);
      assert.match(JSON.stringify(h.slack.responses(outsider.responseUrlId)), /Only <@UAPPROVER>/);
      assert.match(text(h.slack.message('C1', approvalCard.ts)!), /\[Approve\]/, 'the card stays');

      const again = await h.command('setup clicks.fr', { user: OUTSIDER });
      assert.match(again.json?.text ?? '', /already running.*archives\/C1\/p\d+/s);

      const [a, b] = await Promise.all([
        h.click(approvalCard, APPROVE_ACTION, APPROVER),
        h.click(approvalCard, APPROVE_ACTION, APPROVER),
      ]);
      assert.deepEqual([a.status, b.status], [200, 200]);
      assert.equal((await h.drive(isState('done'), run.id)).state, 'done');
      await h.slack.waitFor(() => h.slack.responses().some((r) => /Already approved/.test(JSON.stringify(r))));
      assert.equal(h.sim.count('POST', /\/enable$/), 1);
      assert.equal(h.slack.messages('C1').length, 1);
    },
  },

  'a member of an approver user group approves (usergroups.users.list); App Home lists the runs': {
    options: { slack: { usergroups: { SAPPROVERS: ['UGROUPIE'] } } },
    async run(h) {
      const { run, parentTs } = await readyThread(h, 'group.fr');
      await h.click(card(h, 'C1', parentTs), APPROVE_ACTION, 'UGROUPIE');
      assert.equal((await h.drive(isState('done'), run.id)).state, 'done');
      assert.ok(h.slack.callsOf('usergroups.users.list').length >= 1);

      h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'pending.fr', zone: true });
      await h.command('setup pending.fr');
      await h.drive(isState('awaiting_approval'), latestRun(h).id);
      const opened = await h.event({ type: 'app_home_opened', user: APPROVER, channel: 'D1', tab: 'home' });
      assert.equal(opened.status, 200);
      const home = await h.slack.waitFor(() => h.slack.homeView(APPROVER));
      const homeText = JSON.stringify(home);
      assert.match(homeText, /pending\.fr/);
      assert.match(homeText, /Waiting for approval/);
      assert.match(homeText, /Latest finished runs/);
      assert.match(homeText, /group\.fr/);
    },
  },

  'found on two services: a question with a button per service; the requester answers; the thread names the offer': {
    async run(h) {
      h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'moving.fr', zone: true });
      h.sim.addEmailProDomain({ service: 'emailpro-zz1-1', domain: 'moving.fr', zone: true });
      assert.match((await h.command('setup moving.fr')).json?.text ?? '', /Started DKIM setup/);
      const run = await h.drive(isState('choosing', 'failed'), latestRun(h).id);
      assert.equal(run.state, 'choosing', run.lastError ?? '');
      const question = h.slack.thread('C1', run.threadTs!).find((m) => text(m).includes('Which one should get DKIM?'));
      assert.ok(question, h.slack.threadAsText('C1', run.threadTs!));
      assert.match(text(question), /\[Exchange service org1\/svc1\] \[Email Pro service emailpro-zz1-1\]/);
      const stranger = await h.click(question, 'dkim_choose_1', OUTSIDER);
      await h.slack.waitFor(() => h.slack.responses(stranger.responseUrlId).length > 0);
      assert.match(JSON.stringify(h.slack.responses(stranger.responseUrlId)), /Only the requester/);
      await h.click(question, 'dkim_choose_1', REQUESTER);
      const ready = await h.drive(isState('awaiting_approval', 'failed'), run.id);
      assert.equal(ready.state, 'awaiting_approval', ready.lastError ?? '');
      assert.match(text(h.slack.message('C1', question.ts)!), /chose `pro\/emailpro-zz1-1`/);
      assert.doesNotMatch(text(h.slack.message('C1', question.ts)!), /\[Exchange service/, 'the buttons are gone');
      const parent = text(h.slack.message('C1', run.threadTs!)!);
      assert.match(parent, /OVH Email Pro DKIM\* for \*moving\.fr/);
      assert.match(parent, /on Email Pro service `emailpro-zz1-1`/);
      const opened = await h.event({ type: 'app_home_opened', user: REQUESTER, channel: 'D1', tab: 'home' });
      assert.equal(opened.status, 200);
      const home = await h.slack.waitFor(() => h.slack.homeView(REQUESTER));
      assert.match(JSON.stringify(home), /Email Pro service `emailpro-zz1-1`/);
    },
  },

  'a scan through Slack: progress, then counts and Set up buttons on the parent, the CSV in the thread; Set up, Set up all, one card':
    {
      // Slack refuses what the manifest's scopes do not allow: the CSV needs files:write.
      options: { slack: { scopes: manifestScopes() } },
      async run(h) {
        for (const domain of ['one.fr', 'two.fr', 'three.fr'])
          h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain, zone: true });
        h.sim.addMxPlanDomain({ domain: 'mx.fr', zone: true });
        const answer = await h.command('scan');
        assert.match(answer.json?.text ?? '', /Scanning every domain of the account's Exchange, Email Pro and MX Plan/);
        const scan = await h.drive(isState('done', 'failed'), latestRun(h).id);
        assert.equal(scan.state, 'done', scan.lastError ?? '');
        const parent = h.slack.message('C1', scan.threadTs!)!;
        const shown = text(parent);
        assert.match(shown, /DKIM scan\* for \*the whole account\* — Done/);
        assert.match(shown, /4 domains: 4 no DKIM/);
        assert.match(shown, /\*Need a setup\* \(4\)/);
        assert.equal(shown.match(/\[Set up [a-z.]+\]/g)?.length, 4);
        assert.match(shown, /\[Set up all 4\]/);
        const [file] = h.slack.files();
        assert.ok(file, 'the CSV was uploaded');
        assert.equal(file.thread_ts, scan.threadTs);
        assert.match(file.filename, /^dkim-scan-.*\.csv$/);
        assert.equal(h.slack.fileContent(file.id)?.trim().split('\r\n').length, 5);
        assert.match(h.slack.threadAsText('C1', scan.threadTs!), /\[file: dkim-scan-/);

        const one = await h.click(parent, 'dkim_scan_setup_1', REQUESTER);
        await h.slack.waitFor(() => h.slack.responses(one.responseUrlId).length > 0);
        assert.match(JSON.stringify(h.slack.responses(one.responseUrlId)), /Started DKIM setup for one\.fr/);
        const all = await h.click(parent, 'dkim_setup_all', REQUESTER);
        await h.slack.waitFor(() => h.slack.responses(all.responseUrlId).length > 0);
        const told = JSON.stringify(h.slack.responses(all.responseUrlId));
        assert.match(told, /Started 3 setups as one group/);
        assert.match(told, /Left out, a run already going: one\.fr/);
        const group = h.bot.core.store.runs.latestOfKind('group')!;
        const asked = await h.drive(isState('awaiting_approval', 'failed'), group.id);
        assert.equal(asked.state, 'awaiting_approval');
        const groupTs = h.bot.core.store.runs.get(group.id)!.threadTs!;
        const groupCard = card(h, 'C1', groupTs);
        assert.match(text(groupCard), /Enable DKIM signing for 3 domains of scan #\d+\?/);
        await h.click(groupCard, APPROVE_ACTION, APPROVER);
        const done = await h.drive(isState('done', 'failed'), group.id);
        assert.equal(done.state, 'done');
        assert.match(h.slack.threadAsText('C1', groupTs), /DKIM in production for 3 of 3 domains/);
        assert.equal(h.slack.messages('C1').length, 3, 'the scan, one.fr and the group: no thread per member');

        await h.event({ type: 'app_home_opened', user: REQUESTER, channel: 'D1', tab: 'home' });
        const home = JSON.stringify(await h.slack.waitFor(() => h.slack.homeView(REQUESTER)));
        assert.match(home, /Last scan\* \(run #/);
        assert.match(home, /4 domains: 4 no DKIM/);
      },
    },

  "500 domains: the finished scan's message stays within Slack's limits, the CSV holds every domain": {
    async run(h) {
      const { domains } = bigAccount(h.sim, 500);
      // Fifteen long names, found first: the group's card naming them needs more than one section of 3,000 characters.
      const long = Array.from({ length: 15 }, (_, i) => `a${i}-${'l'.repeat(45)}.${'o'.repeat(60)}.fr`);
      for (const domain of long) h.sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain, zone: true });
      domains.push(...long);
      await h.command('scan');
      const scan = await h.drive(isState('done', 'failed'), latestRun(h).id, 600);
      assert.equal(scan.state, 'done', scan.lastError ?? '');
      assert.equal(
        h.slack.callsOf('chat.update').filter((c) => (c.response as { ok?: boolean }).ok === false).length,
        0,
        'every edit taken',
      );
      const parent = h.slack.message('C1', scan.threadTs!)!;
      assert.ok((parent.blocks?.length ?? 0) <= 50, `${parent.blocks?.length} blocks`);
      const shown = text(parent);
      const needing = (scan.facts.summary as { counts: { needsSetup: number } }).counts.needsSetup;
      assert.ok(needing > 100);
      assert.equal(shown.match(/\[Set up (?!all )[^\]]+\]/g)?.length, 20, 'twenty named, each with its button');
      assert.match(
        shown,
        new RegExp(`…and ${needing - 20} more need a setup: every domain is in the CSV file in the thread`),
      );
      assert.match(shown, new RegExp(`\\[Set up all ${needing}\\]`));
      const csv = h.slack.fileContent(h.slack.files()[0]!.id) ?? '';
      const lines = csv.trim().split('\r\n');
      assert.equal(lines.length, 516);
      for (const domain of domains) assert.ok(csv.includes(`\r\n${domain},`), domain);

      // Set up all: one group, one card naming forty and the whole list in a file, within the limits too.
      await h.click(parent, 'dkim_setup_all', REQUESTER);
      const group = await h.slack.waitFor(() => h.bot.core.store.runs.latestOfKind('group'));
      const asked = await h.drive(isState('awaiting_approval', 'failed'), group.id, 600);
      assert.equal(asked.state, 'awaiting_approval');
      const groupCard = card(h, 'C1', h.bot.core.store.runs.get(group.id)!.threadTs!);
      assert.match(text(groupCard), new RegExp(`Enable DKIM signing for ${needing} domains of scan #\\d+\\?`));
      assert.match(
        text(groupCard),
        new RegExp(`…and ${needing - 40} more: every domain this card enables is in the file below`),
      );
      assert.ok((groupCard.blocks?.length ?? 0) > 3, 'the named domains span more than one section');
      for (const domain of long) assert.ok(text(groupCard).includes(domain), domain);
      assert.match(text(groupCard), /Exchange service `org1\/svc1`: \d+ × `POST /, 'no line of the card is cut');
      assert.equal(h.slack.messages('C1').length, 2, 'the scan and the group: no thread per member');
    },
  },

  'rotate through Slack: the plan on a card, approved, the spare signs; then disable through Slack': {
    options: { env: { ROTATION_GRACE_HOURS: '0' } },
    async run(h) {
      const { run, parentTs } = await readyThread(h, 'turn.fr');
      await h.click(card(h, 'C1', parentTs), APPROVE_ACTION, APPROVER);
      assert.equal((await h.drive(isState('done'), run.id)).state, 'done');
      assert.match((await h.command('rotate turn.fr')).json?.text ?? '', /Started the rotation/);
      const rotation = await h.drive(isState('awaiting_approval', 'failed'), latestRun(h).id);
      assert.equal(rotation.state, 'awaiting_approval', rotation.lastError ?? '');
      const plan = card(h, 'C1', rotation.threadTs!);
      assert.match(text(plan), /Rotate the DKIM key of turn\.fr/);
      await h.click(plan, APPROVE_ACTION, APPROVER);
      const rotated = await h.drive(isState('done', 'failed'), rotation.id);
      assert.equal(rotated.state, 'done', rotated.lastError ?? '');
      const thread = h.slack.thread('C1', rotation.threadTs!).map(text).join('\n');
      assert.match(thread, new RegExp(`<@${REQUESTER}> .*is in production for turn\\.fr`));
      assert.match(thread, /Rotation done for turn\.fr/);

      assert.match((await h.command('disable turn.fr')).json?.text ?? '', /before turning it off/);
      const off = await h.drive(isState('awaiting_approval', 'failed'), latestRun(h).id);
      await h.click(card(h, 'C1', off.threadTs!), APPROVE_ACTION, APPROVER);
      assert.equal((await h.drive(isState('done', 'failed'), off.id)).state, 'done');
      assert.match(h.slack.threadAsText('C1', off.threadTs!), /DKIM is off for turn\.fr/);
      assert.equal(h.slack.messages('C1').length, 3, 'one thread per run');
    },
  },

  'create for a .fr: the form opens; its errors are shown inline; a valid form composes the order': {
    options: { env: { OVH_BATCH_TECH_ID: 'ab1-ovh', OVH_BATCH_ADMIN_ID: 'ab1-ovh', OVH_BATCH_BILLING_ID: 'ab1-ovh' } },
    async run(h) {
      const answer = await h.command('batch create boutique.fr');
      assert.match(answer.json?.text ?? '', /fill in the form/);
      const opened = await h.slack.waitFor(() => h.slack.callsOf('views.open')[0]);
      assert.match(JSON.stringify(opened.args), /\.fr identification/);
      const metadata = (opened.args.view as { private_metadata: string }).private_metadata;
      const submit = (values: Record<string, string>) =>
        h.submitView({
          userId: REQUESTER,
          callbackId: BATCH_FORM_CALLBACK,
          privateMetadata: metadata,
          values: textInputs(values),
        });
      const bad = await submit({
        owner_id: 'zz',
        tech: 'ab1-ovh',
        admin: 'ab1-ovh',
        billing: 'ab1-ovh',
        ident_method: 'siren',
      });
      assert.equal(bad.status, 200);
      assert.match(bad.body, /"response_action":"errors"/);
      assert.match(bad.body, /owner_id/);
      assert.equal(h.bot.core.store.runs.count(), 0);
      const good = await submit({
        owner_id: 'ab1234-ovh',
        tech: 'ab1-ovh',
        admin: 'ab1-ovh',
        billing: 'ab1-ovh',
        offer: 'gold',
        hostingType: 'none',
        ident_method: 'siren',
        ident_legalName: 'Boutique SAS',
        ident_legalNumber: '123456789',
      });
      assert.equal(good.status, 200);
      const run = await h.drive(isState('awaiting_approval'), latestRun(h).id);
      const cardText = text(card(h, 'C1', run.threadTs!));
      assert.match(cardText, /order\.domain\.command: create/);
      assert.match(cardText, /contact\.owner\.id: ab1234-ovh/);
      assert.match(cardText, /option\.identification\.method: siren/);
      assert.equal(h.smtp.mails.length, 0);
    },
  },
};

export const flows: Record<string, FlowCase> = { ...coreFlows, ...displayFlows };

/** The bot scopes manifest.yml asks for: the fake Slack refuses a call that needs another. */
function manifestScopes(): string[] {
  const manifest = parse(readFileSync(new URL('../manifest.yml', import.meta.url), 'utf8'));
  return manifest.oauth_config.scopes.bot;
}
