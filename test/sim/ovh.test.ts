import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as dns } from 'node:dns';
import { get as httpsGet } from 'node:https';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ovh, { type OvhClient, type OvhRequestError } from '@ovhcloud/node-ovh';
import { FakeClock } from '../../src/clock.ts';
import { OvhSim, type OvhSimOptions } from './ovh.ts';
import { trustInProcess } from './tls.ts';

const ORG = 'hosted-ab12345-1';
const SERVICE = 'hosted-ab12345-1';
const DOMAIN = 'example.fr';
const DKIM_PATH = `/email/exchange/${ORG}/service/${SERVICE}/domain/${DOMAIN}/dkim`;

async function startSim(options: OvhSimOptions = {}): Promise<OvhSim> {
  const sim = await OvhSim.start(options);
  trustInProcess(sim.certPem);
  return sim;
}

function clientFor(sim: OvhSim, overrides: Record<string, unknown> = {}): OvhClient {
  return ovh({ ...sim.clientOptions(), warn: () => undefined, ...overrides });
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

async function withSim(options: OvhSimOptions, body: (sim: OvhSim) => Promise<void>): Promise<void> {
  const sim = await startSim(options);
  try {
    await body(sim);
  } finally {
    await sim.close();
  }
}

test('a request signed by node-ovh is accepted and answered with OVH shapes', () =>
  withSim({}, async (sim) => {
    const { selectors } = sim.addExchangeDomain({ org: ORG, service: SERVICE, domain: DOMAIN, zone: true });
    const client = clientFor(sim);
    assert.deepEqual(await client.requestPromised('GET', '/email/exchange'), [ORG]);
    assert.deepEqual(await client.requestPromised('GET', `/email/exchange/${ORG}/service`), [SERVICE]);
    assert.deepEqual(await client.requestPromised('GET', `/email/exchange/${ORG}/service/${SERVICE}/domain`), [DOMAIN]);
    assert.deepEqual(await client.requestPromised('GET', `${DKIM_PATH}Selector`), selectors);
    assert.match(selectors[0], /^ovhex\d+-selector1$/);
    assert.deepEqual(await client.requestPromised('GET', DKIM_PATH), []);
    assert.deepEqual(await client.requestPromised('GET', '/domain/zone'), [DOMAIN]);
    assert.equal(sim.count('GET', /^\/auth\/time$/), 1);
    assert.ok(sim.requests.every((request) => request.status === 200 && !request.injected));
  }));

test('every answer carries X-Ovh-Queryid, errors carry an OVH class', () =>
  withSim({}, async (sim) => {
    const answer = await new Promise<{ status?: number; queryId: unknown; body: string }>((resolve, reject) => {
      httpsGet({ host: sim.host, port: sim.port, path: '/1.0/email/exchange' }, (res) => {
        let body = '';
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode, queryId: res.headers['x-ovh-queryid'], body }));
      }).on('error', reject);
    });
    assert.equal(answer.status, 403);
    assert.match(String(answer.queryId), /\S+/);
    assert.deepEqual(JSON.parse(answer.body), {
      class: 'Client::Forbidden',
      message: 'This application key is invalid',
      errorCode: 'INVALID_KEY',
    });
  }));

test('a wrong secret, an unknown key or a far timestamp is refused', () =>
  withSim({}, async (sim) => {
    const badSecret = await failure(clientFor(sim, { appSecret: 'wrong' }).requestPromised('GET', '/email/exchange'));
    assert.deepEqual(badSecret, { error: 400, message: 'Invalid signature' });
    const badKey = await failure(clientFor(sim, { appKey: 'unknown' }).requestPromised('GET', '/email/exchange'));
    assert.deepEqual(badKey, { error: 403, message: 'This application key is invalid' });
    const badConsumer = await failure(clientFor(sim, { consumerKey: 'nope' }).requestPromised('GET', '/domain/zone'));
    assert.equal(badConsumer.error, 403);
    const skewed = clientFor(sim, { apiTimeDiff: 3600 });
    assert.deepEqual(await failure(skewed.requestPromised('GET', '/domain/zone')), {
      error: 400,
      message: 'Invalid timestamp',
    });
  }));

test('percent-encoded path segments are decoded', () =>
  withSim({}, async (sim) => {
    sim.addZone(DOMAIN);
    const client = clientFor(sim);
    assert.deepEqual(await client.requestPromised('GET', '/domain/zone/example%2Efr/record'), []);
    const missing = await failure(client.requestPromised('GET', '/domain/zone/other.fr/record'));
    assert.equal(missing.error, 404);
  }));

test('the robot goes todo → waitingRecord → ready only after a refreshed absolute CNAME, then enables', () => {
  const clock = new FakeClock();
  const options = { clock, taskDelayMs: 60_000, robotDelayMs: 300_000, enableDelayMs: 120_000 };
  return withSim(options, async (sim) => {
    const { selectors } = sim.addExchangeDomain({ org: ORG, service: SERVICE, domain: DOMAIN, zone: true });
    const selector = selectors[0];
    const client = clientFor(sim);
    const task = (await client.requestPromised('POST', DKIM_PATH, {
      selectorName: selector,
      configureDkim: false,
    })) as {
      id: number;
      function: string;
      status: string;
    };
    assert.equal(task.function, 'addDKIM');
    assert.equal(task.status, 'todo');
    const read = async () =>
      (await client.requestPromised('GET', `${DKIM_PATH}/${selector}`)) as Record<string, unknown> & {
        status: string;
        targetRecord: string;
      };
    const created = await read();
    assert.equal(created.status, 'todo');
    assert.equal(created.taskPendingId, task.id);
    assert.equal(created.customerRecord, `${selector}._domainkey.${DOMAIN}`);
    assert.equal(created.recordType, 'CNAME');
    assert.equal(created.header, 'from;to;subject;date');
    assert.match(created.targetRecord, /\.dkim\.mail\.ovh\.net$/);

    clock.advance(60_000);
    const waiting = await read();
    assert.equal(waiting.status, 'waitingRecord');
    assert.equal(waiting.cnameIsValid, false);
    assert.equal(waiting.taskPendingId, 0);

    const zonePath = `/domain/zone/${DOMAIN}`;
    const subDomain = `${selector}._domainkey`;
    await client.requestPromised('POST', `${zonePath}/record`, {
      fieldType: 'CNAME',
      subDomain,
      target: `${waiting.targetRecord}.`,
      ttl: 60,
    });
    clock.advance(600_000);
    assert.equal((await read()).status, 'waitingRecord', 'an unrefreshed record is not seen');

    await client.requestPromised('POST', `${zonePath}/refresh`);
    assert.equal((await read()).status, 'waitingRecord', 'the robot needs robotDelayMs after the record appears');
    clock.advance(300_000);
    const ready = await read();
    assert.equal(ready.status, 'ready');
    assert.equal(ready.cnameIsValid, true);

    const enabling = (await client.requestPromised('POST', `${DKIM_PATH}/${selector}/enable`)) as { function: string };
    assert.equal(enabling.function, 'enableDKIM');
    assert.equal((await read()).status, 'enabling');
    const again = await failure(client.requestPromised('POST', `${DKIM_PATH}/${selector}/enable`));
    assert.equal(again.error, 409);
    assert.match(String(again.message), /already enabled/);
    clock.advance(120_000);
    assert.equal((await read()).status, 'inProduction');
  });
});

test('enable is refused before ready, and disable returns to ready', () =>
  withSim({}, async (sim) => {
    const { selectors } = sim.addExchangeDomain({ org: ORG, service: SERVICE, domain: DOMAIN });
    const [first, second] = selectors;
    sim.setSelectorStatus(DOMAIN, first, 'waitingRecord');
    sim.setSelectorStatus(DOMAIN, second, 'inProduction');
    const client = clientFor(sim);
    const early = await failure(client.requestPromised('POST', `${DKIM_PATH}/${first}/enable`));
    assert.equal(early.error, 409);
    assert.doesNotMatch(String(early.message), /already enabled/);
    await client.requestPromised('POST', `${DKIM_PATH}/${second}/disable`);
    assert.equal(sim.selector(DOMAIN, second)?.status, 'ready');
  }));

test('a relative CNAME target is published under the zone and never makes the selector ready', () =>
  withSim({}, async (sim) => {
    const { selectors } = sim.addExchangeDomain({ org: ORG, service: SERVICE, domain: DOMAIN, zone: true });
    const selector = selectors[0];
    const client = clientFor(sim);
    await client.requestPromised('POST', DKIM_PATH, { selectorName: selector, configureDkim: false });
    const { targetRecord } = (await client.requestPromised('GET', `${DKIM_PATH}/${selector}`)) as {
      targetRecord: string;
    };
    await client.requestPromised('POST', `/domain/zone/${DOMAIN}/record`, {
      fieldType: 'CNAME',
      subDomain: `${selector}._domainkey`,
      target: targetRecord,
    });
    await client.requestPromised('POST', `/domain/zone/${DOMAIN}/refresh`);
    const [published] = sim.publishedRecords(DOMAIN);
    assert.equal(published?.target, `${targetRecord}.${DOMAIN}.`);
    sim.runRobot();
    const view = (await client.requestPromised('GET', `${DKIM_PATH}/${selector}`)) as Record<string, unknown>;
    assert.equal(view.status, 'waitingRecord');
    assert.equal(view.cnameIsValid, false);
    const resolver = resolverFor(sim);
    assert.deepEqual(await resolver.resolveCname(`${selector}._domainkey.${DOMAIN}`), [`${targetRecord}.${DOMAIN}`]);
  }));

test('configureDkim lets the simulated OVH write and refresh the CNAME itself', () =>
  withSim({}, async (sim) => {
    const { selectors } = sim.addExchangeDomain({ org: ORG, service: SERVICE, domain: DOMAIN, zone: true });
    const client = clientFor(sim);
    await client.requestPromised('POST', DKIM_PATH, { selectorName: selectors[0], configureDkim: true });
    const view = (await client.requestPromised('GET', `${DKIM_PATH}/${selectors[0]}`)) as Record<string, unknown>;
    assert.equal(view.status, 'ready');
    assert.equal(sim.zoneRecords(DOMAIN).length, 1);
    assert.equal(sim.zoneRecords(DOMAIN)[0]?.target, `${view.targetRecord}.`);
  }));

test('a second POST dkim for a selector is a 409, an unknown selector a 400', () =>
  withSim({}, async (sim) => {
    const { selectors } = sim.addExchangeDomain({ org: ORG, service: SERVICE, domain: DOMAIN });
    const client = clientFor(sim);
    await client.requestPromised('POST', DKIM_PATH, { selectorName: selectors[1], autoEnableDKIM: false });
    const duplicate = await failure(client.requestPromised('POST', DKIM_PATH, { selectorName: selectors[1] }));
    assert.equal(duplicate.error, 409);
    assert.match(String(duplicate.message), /already exists/);
    const unknown = await failure(client.requestPromised('POST', DKIM_PATH, { selectorName: 'other-selector1' }));
    assert.equal(unknown.error, 400);
    assert.deepEqual(await client.requestPromised('GET', DKIM_PATH), [selectors[1]]);
  }));

test('zone records: filters, created id 0 quirk, update, delete; refresh publishes', () =>
  withSim({ createdIdZero: true }, async (sim) => {
    sim.addZone(DOMAIN);
    const client = clientFor(sim);
    const path = `/domain/zone/${DOMAIN}/record`;
    const created = (await client.requestPromised('POST', path, {
      fieldType: 'TXT',
      subDomain: '_dmarc',
      target: 'v=DMARC1; p=none',
      ttl: 3600,
    })) as { id: number; zone: string };
    assert.equal(created.id, 0);
    assert.equal(created.zone, DOMAIN);
    const ids = (await client.requestPromised('GET', path, { fieldType: 'TXT', subDomain: '_dmarc' })) as number[];
    assert.equal(ids.length, 1);
    assert.deepEqual(await client.requestPromised('GET', path, { fieldType: 'CNAME' }), []);
    assert.deepEqual(await client.requestPromised('GET', path, { subDomain: '_dmarc.' }), []);
    const id = ids[0]!;
    await client.requestPromised('PUT', `${path}/${id}`, { target: 'v=DMARC1; p=reject' });
    const record = (await client.requestPromised('GET', `${path}/${id}`)) as { target: string; id: number };
    assert.deepEqual(record, {
      id,
      zone: DOMAIN,
      fieldType: 'TXT',
      subDomain: '_dmarc',
      target: 'v=DMARC1; p=reject',
      ttl: 3600,
    });
    assert.equal(sim.publishedRecords(DOMAIN).length, 0);
    await client.requestPromised('POST', `/domain/zone/${DOMAIN}/refresh`);
    assert.deepEqual(await resolverFor(sim).resolveTxt(`_dmarc.${DOMAIN}`), [['v=DMARC1; p=reject']]);
    await client.requestPromised('DELETE', `${path}/${id}`);
    assert.deepEqual(await client.requestPromised('GET', path), []);
  }));

test('DNS answers CNAME, TXT split in 255-byte strings, ENOTFOUND and ENODATA', () =>
  withSim({}, async (sim) => {
    const { selectors } = sim.addExchangeDomain({ org: ORG, service: SERVICE, domain: DOMAIN, zone: true });
    sim.setSelectorStatus(DOMAIN, selectors[0], 'waitingRecord');
    const target = sim.selector(DOMAIN, selectors[0])!.targetRecord;
    sim.addZoneRecord(DOMAIN, { fieldType: 'CNAME', subDomain: `${selectors[0]}._domainkey`, target: `${target}.` });
    const resolver = resolverFor(sim);
    const name = `${selectors[0]}._domainkey.${DOMAIN}`;
    assert.deepEqual(await resolver.resolveCname(name), [target]);
    const [chunks] = await resolver.resolveTxt(name);
    assert.ok(chunks && chunks.length === 2 && chunks[0]!.length === 255);
    assert.match(chunks.join(''), /^v=DKIM1; k=rsa; p=[A-Za-z0-9+/]{300,}$/);
    assert.deepEqual(await resolver.resolveTxt(target), [chunks]);
    assert.equal(await dnsError(resolver.resolveTxt(`nothing.${DOMAIN}`)), 'ENOTFOUND');
    assert.equal(await dnsError(resolver.resolveTxt(DOMAIN)), 'ENODATA');
    assert.equal(await dnsError(resolver.resolveTxt(`_domainkey.${DOMAIN}`)), 'ENODATA');
    assert.equal(sim.selector(DOMAIN, selectors[0])?.cnameIsValid, true);
  }));

test('records of a zone elsewhere come from setExternalRecord; long answers are served over TCP', () =>
  withSim({}, async (sim) => {
    const { selectors } = sim.addExchangeDomain({ org: ORG, service: SERVICE, domain: 'elsewhere.fr' });
    sim.setSelectorStatus('elsewhere.fr', selectors[0], 'waitingRecord');
    const { customerRecord, targetRecord } = sim.selector('elsewhere.fr', selectors[0])!;
    const resolver = resolverFor(sim);
    assert.equal(await dnsError(resolver.resolveCname(customerRecord)), 'ENOTFOUND');
    sim.setExternalRecord(customerRecord, 'CNAME', `${targetRecord}.`);
    sim.runRobot();
    assert.equal(sim.selector('elsewhere.fr', selectors[0])?.status, 'ready');
    sim.setExternalRecord('big.elsewhere.fr', 'TXT', 'x'.repeat(3000));
    const [big] = await resolver.resolveTxt('big.elsewhere.fr');
    assert.equal(big?.join('').length, 3000);
    sim.removeExternalRecord('big.elsewhere.fr');
    assert.equal(await dnsError(resolver.resolveTxt('big.elsewhere.fr')), 'ENOTFOUND');
  }));

test('more than perMinute requests in 60 s of the sim clock are refused with 429', () => {
  const clock = new FakeClock();
  return withSim({ clock, rateLimit: { perMinute: 3 } }, async (sim) => {
    const client = clientFor(sim);
    for (let call = 0; call < 3; call++) await client.requestPromised('GET', '/domain/zone');
    assert.deepEqual(await failure(client.requestPromised('GET', '/domain/zone')), {
      error: 429,
      message: 'Too many requests',
    });
    assert.equal(sim.rateLimited429s, 1);
    clock.advance(59_999);
    assert.equal((await failure(client.requestPromised('GET', '/domain/zone'))).error, 429);
    clock.advance(1);
    await client.requestPromised('GET', '/domain/zone');
    assert.equal(sim.rateLimited429s, 2);
    assert.equal(sim.injectedFaults, 0);
  });
});

test('seeded faults are deterministic and happen before any side effect', async () => {
  const outcomes = async () => {
    const statuses: number[] = [];
    await withSim({ faults: { error5xxRate: 0.3, rate429: 0.2, seed: 42 } }, async (sim) => {
      sim.addZone(DOMAIN);
      const client = clientFor(sim);
      for (let call = 0; call < 20; call++) {
        const body = { fieldType: 'A', subDomain: `host${call}`, target: '192.0.2.1' };
        statuses.push(
          await client.requestPromised('POST', `/domain/zone/${DOMAIN}/record`, body).then(
            () => 200,
            (error: OvhRequestError) => Number(error.error),
          ),
        );
      }
      const failed = statuses.filter((status) => status !== 200).length;
      assert.equal(sim.zoneRecords(DOMAIN).length, 20 - failed);
      assert.equal(sim.injectedFaults, failed);
    });
    return statuses;
  };
  const first = await outcomes();
  assert.deepEqual(await outcomes(), first);
  assert.ok(first.includes(500) && first.includes(429) && first.includes(200));
});

test('afterEffectFailRate applies the change and answers 500; hooks see mutating calls', () =>
  withSim({ faults: { afterEffectFailRate: 1 } }, async (sim) => {
    sim.addZone(DOMAIN);
    const seen: string[] = [];
    sim.afterEffect = (request) => {
      seen.push(`${request.method} ${request.path}`);
    };
    const client = clientFor(sim);
    const body = { fieldType: 'A', subDomain: 'www', target: '192.0.2.1' };
    const error = await failure(client.requestPromised('POST', `/domain/zone/${DOMAIN}/record`, body));
    assert.equal(error.error, 500);
    assert.equal(sim.zoneRecords(DOMAIN).length, 1);
    assert.deepEqual(seen, [`POST /domain/zone/${DOMAIN}/record`]);
    assert.deepEqual(sim.requests.at(-1)?.body, body);
    assert.equal(sim.requests.at(-1)?.injected, false);
    assert.equal(sim.requests.at(-1)?.failedAfterEffect, true);
    assert.equal(sim.afterEffectFailures, 1);
  }));

test('a hanging call times out at the client and close() still ends promptly', async () => {
  const sim = await startSim({ onRequest: (request) => (request.path === '/domain/zone' ? 'hang' : undefined) });
  const client = clientFor(sim, { timeout: 200 });
  await client.requestPromised('GET', '/email/exchange');
  const hung = client.requestPromised('GET', '/domain/zone').then(
    () => 'answered',
    () => 'failed',
  );
  assert.equal(await hung, 'failed');
  assert.equal(sim.requests.at(-1)?.status, 0);
  const slowClient = clientFor(sim);
  sim.faults = { slowMs: 60_000, slowRate: 1 };
  const slow = slowClient.requestPromised('GET', '/email/exchange').then(
    () => 'answered',
    () => 'failed',
  );
  await new Promise((resolve) => setTimeout(resolve, 50));
  const started = Date.now();
  await sim.close();
  assert.equal(await slow, 'failed');
  assert.ok(Date.now() - started < 2000);
});

test('OAuth2 client credentials through node-ovh in a child trusting the CA file', () =>
  withSim({}, async (sim) => {
    sim.addExchangeDomain({ org: ORG, service: SERVICE, domain: DOMAIN });
    const script = `
      const ovh = require('@ovhcloud/node-ovh');
      const client = ovh({ host: '127.0.0.1', port: ${sim.port}, basePath: '/1.0', tokenURL: ${JSON.stringify(sim.tokenUrl)},
        clientID: ${JSON.stringify(sim.oauthClient.clientId)}, clientSecret: ${JSON.stringify(sim.oauthClient.clientSecret)} });
      client.requestPromised('GET', '/email/exchange').then(
        (answer) => console.log(JSON.stringify(answer)),
        (error) => { console.log(JSON.stringify(error)); process.exitCode = 1; });`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: { ...process.env, NODE_EXTRA_CA_CERTS: sim.caFile, NODE_OPTIONS: '' },
    });
    assert.deepEqual(JSON.parse(stdout), [ORG]);
    assert.equal(sim.count('POST', /^\/auth\/oauth2\/token$/), 1);
    assert.equal(sim.count('GET', /^\/auth\/time$/), 0);
  }));
