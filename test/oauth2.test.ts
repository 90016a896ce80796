import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from './cli-process.ts';
import { REQUESTER, testEnv } from './harness.ts';
import { OvhSim } from './sim/ovh.ts';

test('OAuth2 service-account credentials drive the same flow (the CLI, as an operator runs it)', async () => {
  const sim = await OvhSim.start();
  try {
    sim.addExchangeDomain({ org: 'org1', service: 'svc1', domain: 'oauth.fr', zone: true });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...testEnv(sim),
      OVH_APP_KEY: '',
      OVH_APP_SECRET: '',
      OVH_CONSUMER_KEY: '',
      OVH_CLIENT_ID: sim.oauthClient.clientId,
      OVH_CLIENT_SECRET: sim.oauthClient.clientSecret,
      OVH_TOKEN_URL: sim.tokenUrl,
      NODE_EXTRA_CA_CERTS: sim.caFile,
    };
    const cli = (...args: string[]) => runCli(args, env);
    const setup = await cli('setup', 'oauth.fr', '--as', REQUESTER);
    assert.equal(setup.status, 0, setup.stdout);
    assert.match(setup.stdout, /APPROVAL #1: Enable DKIM signing for oauth\.fr\?/);
    assert.ok(sim.requests.some((r) => r.path === '/email/exchange'));
    const status = await cli('status', 'oauth.fr');
    assert.match(status.stdout, /Waiting for approval/);
  } finally {
    await sim.close();
  }
});
