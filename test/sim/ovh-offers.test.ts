import assert from 'node:assert/strict';
import { promises as dns } from 'node:dns';
import { test } from 'node:test';
import ovh, { type OvhClient, type OvhRequestError } from '@ovhcloud/node-ovh';
import { FakeClock } from '../../src/clock.ts';
import { type MxPlanDkimView, OvhSim, type OvhSimOptions } from './ovh.ts';
import { trustInProcess } from './tls.ts';

const PRO = 'emailpro-zz111111-1';
const PRO_DOMAIN = 'pro.fr';
const PRO_PATH = `/email/pro/${PRO}/domain/${PRO_DOMAIN}`;
const ORG = 'hosted-ab12345-1';
const EXCHANGE_PATH = (domain: string) => `/email/exchange/${ORG}/service/${ORG}/domain/${domain}`;
const MINUTE = 60_000;
const DELAYS = {
  taskDelayMs: MINUTE,
  robotDelayMs: 5 * MINUTE,
  enableDelayMs: 2 * MINUTE,
  disableDelayMs: 3 * MINUTE,
  deleteDelayMs: 4 * MINUTE,
  mxPlanDelayMs: 10 * MINUTE,
};

interface DkimAnswer {
  selectorName: string;
  status: string;
  customerRecord: string;
  targetRecord: string;
  cnameIsValid: boolean;
  taskPendingId: number;
}

interface TaskAnswer {
  id: number;
  function: string;
  status: string;
  domain?: string;
}

async function withSim(options: OvhSimOptions, body: (sim: OvhSim, client: OvhClient) => Promise<void>) {
  const sim = await OvhSim.start(options);
  trustInProcess(sim.certPem);
  try {
    await body(sim, ovh({ ...sim.clientOptions(), warn: () => undefined }));
  } finally {
    await sim.close();
  }
}

async function failure(call: PromiseLike<unknown>): Promise<OvhRequestError> {
  try {
    await call;
  } catch (error) {
    return error as OvhRequestError;
  }
  assert.fail('the call was expected to fail');
}

function resolverFor(sim: OvhSim): dns.Resolver {
  const resolver = new dns.Resolver({ timeout: 1000, tries: 1 });
  resolver.setServers([sim.dnsServer]);
  return resolver;
}

async function dnsError(lookup: Promise<unknown>): Promise<string | undefined> {
  try {
    await lookup;
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code;
  }
}

async function txt(resolver: dns.Resolver, name: string): Promise<string[]> {
  return (await resolver.resolveTxt(name)).map((chunks) => chunks.join(''));
}

function publicKeyOf(text: string | undefined): string {
  const match = /^v=DKIM1; k=rsa; p=([A-Za-z0-9+/]+)$/.exec(text ?? '');
  assert.ok(match, `a DKIM key, not ${text}`);
  return match[1]!;
}

/** `"<name> CNAME <target>."` → its parts, as the bot must read MX Plan's selectors. */
function parseCname(cname: string): { name: string; target: string } {
  const match = /^(\S+) CNAME (\S+\.)$/.exec(cname);
  assert.ok(match, cname);
  return { name: match[1]!, target: match[2]! };
}

test('Email Pro: discovery, keys, the same robot as Exchange, enable → inProduction, tasks', () => {
  const clock = new FakeClock();
  return withSim({ clock, ...DELAYS }, async (sim, client) => {
    const { selectors } = sim.addEmailProDomain({ service: PRO, domain: PRO_DOMAIN, zone: true });
    assert.deepEqual(await client.requestPromised('GET', '/email/pro'), [PRO]);
    assert.equal(((await client.requestPromised('GET', `/email/pro/${PRO}`)) as { offer: string }).offer, 'emailpro');
    assert.deepEqual(await client.requestPromised('GET', `/email/pro/${PRO}/domain`), [PRO_DOMAIN]);
    const domain = (await client.requestPromised('GET', PRO_PATH)) as Record<string, unknown>;
    assert.equal(domain.name, PRO_DOMAIN);
    assert.equal(domain.state, 'ok');
    assert.deepEqual(await client.requestPromised('GET', `${PRO_PATH}/dkimSelector`), selectors);
    assert.match(selectors[0], /^ovhemp\d+-selector1$/);
    assert.match(selectors[1], /^ovhemp\d+-selector2$/);
    assert.deepEqual(await client.requestPromised('GET', `${PRO_PATH}/dkim`), []);

    const [first, spare] = selectors;
    const created = (await client.requestPromised('POST', `${PRO_PATH}/dkim`, {
      selectorName: first,
      configureDkim: true,
      autoEnableDKIM: false,
    })) as TaskAnswer & Record<string, unknown>;
    assert.equal(created.function, 'addDomainDKIM');
    assert.equal(created.status, 'todo');
    assert.deepEqual(Object.keys(created).sort(), ['finishDate', 'function', 'id', 'status', 'todoDate']);
    const again = await failure(client.requestPromised('POST', `${PRO_PATH}/dkim`, { selectorName: first }));
    assert.equal(again.error, 409);
    await client.requestPromised('POST', `${PRO_PATH}/dkim`, { selectorName: spare, configureDkim: false });
    assert.deepEqual(await client.requestPromised('GET', `${PRO_PATH}/dkim`), [first, spare]);

    const read = async (selector: string) =>
      (await client.requestPromised('GET', `${PRO_PATH}/dkim/${selector}`)) as DkimAnswer & Record<string, unknown>;
    const todo = await read(first);
    assert.equal(todo.status, 'todo');
    assert.equal(todo.taskPendingId, created.id);
    assert.equal(todo.customerRecord, `${first}._domainkey.${PRO_DOMAIN}`);
    assert.equal(todo.recordType, 'CNAME');
    assert.equal(todo.header, 'from;to;subject;date');

    clock.advance(MINUTE);
    const waiting = await read(first);
    assert.equal(waiting.status, 'waitingRecord');
    assert.equal(waiting.cnameIsValid, true, 'configureDkim: OVH wrote the CNAME in its zone');
    assert.equal(sim.zoneRecords(PRO_DOMAIN)[0]?.target, `${waiting.targetRecord}.`);
    assert.equal((await read(spare)).cnameIsValid, false);
    const resolver = resolverFor(sim);
    assert.deepEqual(await resolver.resolveCname(waiting.customerRecord), [waiting.targetRecord]);
    publicKeyOf((await txt(resolver, waiting.customerRecord))[0]);

    const early = await failure(client.requestPromised('POST', `${PRO_PATH}/dkim/${first}/enable`));
    assert.equal(early.error, 409);
    clock.advance(5 * MINUTE);
    assert.equal((await read(first)).status, 'ready');
    const enabling = (await client.requestPromised('POST', `${PRO_PATH}/dkim/${first}/enable`)) as TaskAnswer;
    assert.equal(enabling.function, 'enableDKIM');
    assert.equal((await read(first)).status, 'enabling');
    clock.advance(2 * MINUTE);
    assert.equal((await read(first)).status, 'inProduction');
    assert.equal(sim.selector(PRO_DOMAIN, first)?.offer, 'emailpro');

    const disabling = (await client.requestPromised('POST', `${PRO_PATH}/dkim/${first}/disable`)) as TaskAnswer;
    assert.equal(disabling.function, 'disableDKIM');
    clock.advance(3 * MINUTE);
    assert.equal((await read(first)).status, 'ready');

    const ids = (await client.requestPromised('GET', `/email/pro/${PRO}/task`)) as number[];
    assert.ok(ids.includes(created.id) && ids.includes(enabling.id) && ids.includes(disabling.id));
    const done = (await client.requestPromised('GET', `/email/pro/${PRO}/task/${enabling.id}`)) as TaskAnswer;
    assert.deepEqual([done.function, done.status], ['enableDKIM', 'done']);

    assert.equal((await failure(client.requestPromised('GET', '/email/pro/emailpro-zz999999-1/domain'))).error, 404);
    assert.equal((await failure(client.requestPromised('GET', `/email/pro/${PRO}/domain/other.fr/dkim`))).error, 404);
    assert.equal((await failure(client.requestPromised('GET', `${PRO_PATH}/dkim/nope-selector1`))).error, 404);
  });
});

test('MX Plan in an OVH zone of the account: enable → modifying → enabled, OVH writes both CNAMEs', () => {
  const clock = new FakeClock();
  return withSim({ clock, ...DELAYS }, async (sim, client) => {
    const setup = sim.addMxPlanDomain({ domain: 'mx.fr', zone: true });
    assert.deepEqual(await client.requestPromised('GET', '/email/domain'), ['mx.fr']);
    assert.equal(((await client.requestPromised('GET', '/email/domain/mx.fr')) as { domain: string }).domain, 'mx.fr');
    const path = '/email/domain/mx.fr/dkim';
    const read = async () => (await client.requestPromised('GET', path)) as MxPlanDkimView;
    assert.deepEqual(await read(), { status: 'disabled', activeSelector: null, autoconfig: true, selectors: [] });

    const task = (await client.requestPromised('PUT', `${path}/enable`)) as TaskAnswer;
    assert.deepEqual(task, { id: task.id, domain: 'mx.fr', function: 'domain/enableDKIM', status: 'todo' });
    assert.equal((await read()).status, 'modifying');
    const busy = await failure(client.requestPromised('PUT', `${path}/enable`));
    assert.equal(busy.error, 409);
    assert.match(String(busy.message), /in progress/);
    clock.advance(10 * MINUTE - 1);
    assert.equal((await read()).status, 'modifying');
    assert.deepEqual(sim.zoneRecords('mx.fr'), []);

    clock.advance(1);
    const enabled = await read();
    assert.equal(enabled.status, 'enabled');
    assert.equal(enabled.activeSelector, setup.selectors[0]);
    assert.equal(enabled.autoconfig, true);
    const [selector1, selector2] = setup.selectors;
    assert.deepEqual(
      enabled.selectors.map((selector) => [selector.selectorName, selector.status]),
      [
        [selector1, 'set'],
        [selector2, 'set'],
      ],
    );
    assert.equal(
      enabled.selectors[0]?.cname,
      `${selector1}._domainkey.mx.fr CNAME ${selector1}._domainkey.mx-fr.aa.dkim.mail.ovh.net.`,
    );
    assert.deepEqual(
      sim
        .zoneRecords('mx.fr')
        .map((record) => [record.fieldType, record.subDomain, record.target])
        .sort(),
      setup.records.map((record) => ['CNAME', record.name.replace(/\.mx\.fr$/, ''), record.target]).sort(),
    );
    const resolver = resolverFor(sim);
    const keys = new Set<string>();
    for (const selector of enabled.selectors) {
      const { name, target } = parseCname(selector.cname);
      assert.deepEqual(await resolver.resolveCname(name), [target.slice(0, -1)]);
      keys.add(publicKeyOf((await txt(resolver, name))[0]));
    }
    assert.equal(keys.size, 2, 'one key per selector');
    const again = await failure(client.requestPromised('PUT', `${path}/enable`));
    assert.equal(again.error, 409);
    assert.match(String(again.message), /already enabled/);
    const tasks = (await client.requestPromised('GET', '/email/domain/mx.fr/task/all')) as number[];
    assert.deepEqual(tasks, [task.id]);
    assert.equal(
      ((await client.requestPromised('GET', `/email/domain/mx.fr/task/all/${task.id}`)) as TaskAnswer).status,
      'done',
    );
    assert.equal((await failure(client.requestPromised('GET', '/email/domain/unknown.fr/dkim'))).error, 404);
    assert.equal((await failure(client.requestPromised('PUT', '/email/domain/unknown.fr/dkim/enable'))).error, 404);
  });
});

test('MX Plan with a zone elsewhere: toConfigure/toSet, records published, enable again → enabled', () => {
  const clock = new FakeClock();
  return withSim({ clock, ...DELAYS }, async (sim, client) => {
    sim.addMxPlanDomain({ domain: 'ext.fr' });
    const path = '/email/domain/ext.fr/dkim';
    const read = async () => (await client.requestPromised('GET', path)) as MxPlanDkimView;
    assert.equal((await read()).autoconfig, false);
    await client.requestPromised('PUT', `${path}/enable`);
    clock.advance(10 * MINUTE);
    const toConfigure = await read();
    assert.equal(toConfigure.status, 'toConfigure');
    assert.equal(toConfigure.activeSelector, null);
    assert.deepEqual(
      toConfigure.selectors.map((selector) => selector.status),
      ['toSet', 'toSet'],
    );
    const records = toConfigure.selectors.map((selector) => parseCname(selector.cname));
    const resolver = resolverFor(sim);
    assert.equal(await dnsError(resolver.resolveCname(records[0]!.name)), 'ENOTFOUND');
    publicKeyOf((await txt(resolver, records[0]!.target))[0]);

    sim.setExternalRecord(records[0]!.name, 'CNAME', records[0]!.target);
    assert.deepEqual(
      (await read()).selectors.map((selector) => selector.status),
      ['set', 'toSet'],
    );
    sim.setExternalRecord(records[1]!.name, 'CNAME', records[1]!.target);
    clock.advance(60 * MINUTE);
    const served = await read();
    assert.deepEqual(
      served.selectors.map((selector) => selector.status),
      ['set', 'set'],
    );
    assert.equal(served.status, 'toConfigure', 'it waits for PUT …/enable again');

    const second = (await client.requestPromised('PUT', `${path}/enable`)) as TaskAnswer;
    assert.equal(second.function, 'domain/enableDKIM');
    assert.equal((await read()).status, 'modifying');
    clock.advance(10 * MINUTE);
    const enabled = await read();
    assert.equal(enabled.status, 'enabled');
    assert.equal(enabled.activeSelector, records[0]!.name.split('.')[0]);
  });
});

test('MX Plan: a CNAME with a wrong target is toFix and never overwritten; error and the manual disabled variant', () => {
  const clock = new FakeClock();
  return withSim({ clock, ...DELAYS }, async (sim, client) => {
    const ovhZone = sim.addMxPlanDomain({ domain: 'fix.fr', zone: true });
    const wrong = sim.addZoneRecord('fix.fr', {
      fieldType: 'CNAME',
      subDomain: `${ovhZone.selectors[0]}._domainkey`,
      target: 'somewhere.else.example.',
    });
    await client.requestPromised('PUT', '/email/domain/fix.fr/dkim/enable');
    clock.advance(10 * MINUTE);
    const view = (await client.requestPromised('GET', '/email/domain/fix.fr/dkim')) as MxPlanDkimView;
    assert.equal(view.status, 'toConfigure');
    assert.deepEqual(
      view.selectors.map((selector) => selector.status),
      ['toFix', 'set'],
    );
    assert.equal(sim.zoneRecords('fix.fr').find((record) => record.id === wrong.id)?.target, 'somewhere.else.example.');
    assert.equal(sim.zoneRecords('fix.fr').length, 2, 'OVH wrote the missing one only');

    sim.addMxPlanDomain({ domain: 'far.fr', manualStatus: 'disabled' });
    await client.requestPromised('PUT', '/email/domain/far.fr/dkim/enable');
    clock.advance(10 * MINUTE);
    const far = sim.mxPlanDkim('far.fr')!;
    assert.equal(far.status, 'disabled');
    assert.deepEqual(
      far.selectors.map((selector) => selector.status),
      ['toSet', 'toSet'],
    );
    const record = parseCname(far.selectors[1]!.cname);
    sim.setExternalRecord(record.name, 'CNAME', 'ovhmo000000-selector2._domainkey.other.aa.dkim.mail.ovh.net.');
    assert.equal(sim.mxPlanDkim('far.fr')!.selectors[1]?.status, 'toFix');

    sim.addMxPlanDomain({ domain: 'broken.fr', zone: true, status: 'error' });
    assert.equal(sim.mxPlanDkim('broken.fr')?.status, 'error');
    const refused = await failure(client.requestPromised('PUT', '/email/domain/broken.fr/dkim/enable'));
    assert.equal(refused.error, 409);
  });
});

test('MX Plan disable: enabled → modifying → disabled; keys and records stay; a second disable is a 409', () => {
  const clock = new FakeClock();
  return withSim({ clock, ...DELAYS }, async (sim, client) => {
    const setup = sim.addMxPlanDomain({ domain: 'on.fr', zone: true, status: 'enabled' });
    const path = '/email/domain/on.fr/dkim';
    assert.equal(sim.mxPlanDkim('on.fr')?.status, 'enabled');
    assert.equal(sim.zoneRecords('on.fr').length, 2);
    const task = (await client.requestPromised('PUT', `${path}/disable`)) as TaskAnswer;
    assert.deepEqual(task, { id: task.id, domain: 'on.fr', function: 'domain/disableDKIM', status: 'todo' });
    assert.equal(((await client.requestPromised('GET', path)) as MxPlanDkimView).status, 'modifying');
    assert.equal((await failure(client.requestPromised('PUT', `${path}/enable`))).error, 409);
    clock.advance(10 * MINUTE);
    const disabled = (await client.requestPromised('GET', path)) as MxPlanDkimView;
    assert.equal(disabled.status, 'disabled');
    assert.equal(disabled.activeSelector, null);
    assert.deepEqual(
      disabled.selectors.map((selector) => selector.status),
      ['set', 'set'],
    );
    publicKeyOf((await txt(resolverFor(sim), setup.records[0]!.name))[0]);
    const twice = await failure(client.requestPromised('PUT', `${path}/disable`));
    assert.equal(twice.error, 409);
    assert.match(String(twice.message), /not enabled/);

    sim.addMxPlanDomain({ domain: 'swap.fr', zone: true, status: 'enabled', alternateSelectorOrder: true });
    const order = async () =>
      ((await client.requestPromised('GET', '/email/domain/swap.fr/dkim')) as MxPlanDkimView).selectors.map(
        (selector) => selector.selectorName,
      );
    const firstOrder = await order();
    assert.deepEqual(await order(), [...firstOrder].reverse(), 'OVH keeps no order: the bot must not rely on one');
  });
});

test('Exchange lifecycle: disable → ready, delete → gone (TXT withdrawn), re-create → a fresh key', () => {
  const clock = new FakeClock();
  return withSim({ clock, ...DELAYS }, async (sim, client) => {
    const moving = sim.addExchangeDomain({
      org: ORG,
      service: ORG,
      domain: 'rot.fr',
      zone: true,
      newTargetOnRecreate: true,
    });
    const steady = sim.addExchangeDomain({ org: ORG, service: ORG, domain: 'same.fr', zone: true });
    const [a, b] = moving.selectors;
    sim.setSelectorStatus('rot.fr', a, 'inProduction');
    sim.setSelectorStatus('rot.fr', b, 'inProduction');
    sim.setSelectorStatus('same.fr', steady.selectors[0], 'ready');
    const path = EXCHANGE_PATH('rot.fr');
    const read = async (selector: string, domainPath = path) =>
      (await client.requestPromised('GET', `${domainPath}/dkim/${selector}`)) as DkimAnswer;
    const before = await read(a);
    const resolver = resolverFor(sim);
    const oldKey = publicKeyOf((await txt(resolver, before.targetRecord))[0]);

    assert.equal((await failure(client.requestPromised('DELETE', `${path}/dkim/${a}`))).error, 409);
    await client.requestPromised('POST', `${path}/dkim/${a}/disable`);
    assert.equal((await read(a)).status, 'disabling');
    assert.equal((await failure(client.requestPromised('DELETE', `${path}/dkim/${a}`))).error, 409);
    clock.advance(3 * MINUTE);
    assert.equal((await read(a)).status, 'ready');

    const deleting = (await client.requestPromised('DELETE', `${path}/dkim/${a}`)) as TaskAnswer;
    assert.equal(deleting.function, 'deleteDKIM');
    assert.equal((await read(a)).status, 'deleting');
    clock.advance(4 * MINUTE);
    assert.equal((await failure(client.requestPromised('GET', `${path}/dkim/${a}`))).error, 404);
    assert.deepEqual(await client.requestPromised('GET', `${path}/dkim`), [b]);
    assert.equal(await dnsError(resolver.resolveTxt(before.targetRecord)), 'ENOTFOUND');

    await client.requestPromised('POST', `${path}/dkim`, { selectorName: a, configureDkim: false });
    clock.advance(MINUTE);
    const fresh = await read(a);
    assert.equal(fresh.status, 'waitingRecord');
    assert.notEqual(fresh.targetRecord, before.targetRecord, 'this domain changes targets on re-creation');
    assert.equal(fresh.cnameIsValid, false, 'the old CNAME points at the old target');
    assert.notEqual(publicKeyOf((await txt(resolver, fresh.targetRecord))[0]), oldKey);
    assert.equal(sim.selector('rot.fr', a)?.generation, 1);

    const samePath = EXCHANGE_PATH('same.fr');
    const first = await read(steady.selectors[0], samePath);
    const firstKey = publicKeyOf((await txt(resolver, first.targetRecord))[0]);
    await client.requestPromised('DELETE', `${samePath}/dkim/${steady.selectors[0]}`);
    clock.advance(4 * MINUTE);
    await client.requestPromised('POST', `${samePath}/dkim`, { selectorName: steady.selectors[0] });
    clock.advance(MINUTE);
    const recreated = await read(steady.selectors[0], samePath);
    assert.equal(recreated.targetRecord, first.targetRecord, 'same target by default');
    const newKey = publicKeyOf((await txt(resolver, recreated.targetRecord))[0]);
    assert.notEqual(newKey, firstKey);
    assert.equal(sim.selector('same.fr', steady.selectors[0])?.publicKey, newKey);
  });
});

test('a zone edited behind the bot: record changed or deleted, DNS and cnameIsValid follow', () =>
  withSim({}, async (sim) => {
    const { selectors } = sim.addExchangeDomain({ org: ORG, service: ORG, domain: 'edit.fr', zone: true });
    sim.setSelectorStatus('edit.fr', selectors[0], 'inProduction');
    const { customerRecord, targetRecord } = sim.selector('edit.fr', selectors[0])!;
    const record = sim.addZoneRecord('edit.fr', {
      fieldType: 'CNAME',
      subDomain: `${selectors[0]}._domainkey`,
      target: `${targetRecord}.`,
    });
    const resolver = resolverFor(sim);
    assert.deepEqual(await resolver.resolveCname(customerRecord), [targetRecord]);
    assert.equal(sim.selector('edit.fr', selectors[0])?.cnameIsValid, true);

    sim.updateZoneRecord('edit.fr', record.id, { target: 'elsewhere.example.' });
    assert.deepEqual(await resolver.resolveCname(customerRecord), ['elsewhere.example']);
    assert.equal(sim.selector('edit.fr', selectors[0])?.cnameIsValid, false);

    sim.updateZoneRecord('edit.fr', record.id, { target: `${targetRecord}.` }, { refresh: false });
    assert.deepEqual(await resolver.resolveCname(customerRecord), ['elsewhere.example'], 'not refreshed yet');
    sim.refreshZone('edit.fr');
    assert.deepEqual(await resolver.resolveCname(customerRecord), [targetRecord]);

    sim.deleteZoneRecord('edit.fr', record.id);
    assert.equal(await dnsError(resolver.resolveCname(customerRecord)), 'ENOTFOUND');
    assert.deepEqual(sim.zoneRecords('edit.fr'), []);
  }));

test('SPF and DMARC TXT: in an OVH zone (quoted, SPF field type, long text in 255-byte strings) and elsewhere', () =>
  withSim({}, async (sim) => {
    sim.addZone('auth.fr');
    sim.addMailAuthRecords('auth.fr');
    const resolver = resolverFor(sim);
    assert.deepEqual(await txt(resolver, 'auth.fr'), ['v=spf1 include:mx.ovh.com ~all']);
    assert.deepEqual(await txt(resolver, '_dmarc.auth.fr'), ['v=DMARC1; p=quarantine']);
    assert.deepEqual(
      sim.zoneRecords('auth.fr').map((record) => [record.fieldType, record.subDomain, record.target]),
      [
        ['TXT', '', '"v=spf1 include:mx.ovh.com ~all"'],
        ['TXT', '_dmarc', '"v=DMARC1; p=quarantine"'],
      ],
    );

    sim.addZone('spf.fr');
    sim.addZoneRecord('spf.fr', { fieldType: 'SPF', target: '"v=spf1 include:mx.ovh.com -all"' });
    const long = `v=spf1 ${'ip4:192.0.2.1 '.repeat(30)}include:mx.ovh.com ~all`;
    sim.addZoneRecord('spf.fr', {
      fieldType: 'TXT',
      subDomain: 'long',
      target: `"${long.slice(0, 200)}" "${long.slice(200)}"`,
    });
    assert.deepEqual(await txt(resolver, 'spf.fr'), ['v=spf1 include:mx.ovh.com -all']);
    const [chunks] = await resolver.resolveTxt('long.spf.fr');
    assert.equal(chunks?.[0]?.length, 255);
    assert.equal(chunks?.join(''), long);

    sim.addMailAuthRecords('elsewhere.fr', { dmarc: 'v=DMARC1; p=reject; rua=mailto:d@elsewhere.fr', spf: null });
    assert.equal(await dnsError(resolver.resolveTxt('elsewhere.fr')), 'ENODATA');
    assert.deepEqual(await txt(resolver, '_dmarc.elsewhere.fr'), ['v=DMARC1; p=reject; rua=mailto:d@elsewhere.fr']);
    sim.setExternalRecord('elsewhere.fr', 'TXT', 'v=spf1 include:_spf.example.com ~all');
    assert.deepEqual(await txt(resolver, 'elsewhere.fr'), ['v=spf1 include:_spf.example.com ~all']);
  }));

test('the new routes share signatures, the rate limit and fault injection', () => {
  const clock = new FakeClock();
  return withSim({ clock, rateLimit: { perMinute: 3 } }, async (sim, client) => {
    sim.addEmailProDomain({ service: PRO, domain: PRO_DOMAIN });
    sim.addMxPlanDomain({ domain: 'mx.fr', zone: true });
    const unsigned = ovh({ ...sim.clientOptions(), appSecret: 'wrong', warn: () => undefined });
    assert.equal((await failure(unsigned.requestPromised('GET', '/email/domain'))).error, 400);
    await client.requestPromised('GET', '/email/pro');
    await client.requestPromised('GET', '/email/domain');
    await client.requestPromised('GET', '/email/domain/mx.fr/dkim');
    assert.equal((await failure(client.requestPromised('GET', '/email/pro'))).error, 429);
    clock.advance(MINUTE);

    sim.rateLimit = undefined;
    sim.faults = { error5xxRate: 1 };
    assert.equal((await failure(client.requestPromised('PUT', '/email/domain/mx.fr/dkim/enable'))).error, 500);
    assert.equal(sim.mxPlanDkim('mx.fr')?.status, 'disabled', 'a fault before the handler changes nothing');
    sim.faults = { afterEffectFailRate: 1 };
    assert.equal((await failure(client.requestPromised('PUT', '/email/domain/mx.fr/dkim/enable'))).error, 500);
    assert.equal(sim.mxPlanDkim('mx.fr')?.status, 'enabled', 'took effect, then answered 500');
    assert.equal(sim.afterEffectFailures, 1);
    sim.faults = {};
    const body = (await failure(client.requestPromised('POST', `${PRO_PATH}/dkim`, {}))) as OvhRequestError;
    assert.deepEqual(body, { error: 400, message: '[selectorName] Property is mandatory' });
  });
});
