import { ConfigError, describeConfig, loadDotEnv, parseConfig } from './config/index.ts';
import { startBot } from './slack/app.ts';

/** `npm start`: the bot and its poller. Missing Slack credentials stop the start with a message saying what to do. */
async function main(): Promise<void> {
  loadDotEnv();
  const config = parseConfig(process.env);
  const missing = [
    ...(config.slack.botToken ? [] : ['SLACK_BOT_TOKEN']),
    ...(config.slack.appToken || config.slack.signingSecret
      ? []
      : ['SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode)']),
  ];
  if (missing.length > 0) {
    console.error(
      [
        `dkim-bot cannot start: missing ${missing.join(' and ')}.`,
        'Create the Slack app from manifest.yml (api.slack.com/apps → Create New App → From an app manifest),',
        'install it to your workspace, then put its tokens in .env (see .env.example and the README).',
        'To see the bot work without any credentials: npm run demo',
      ].join('\n'),
    );
    process.exitCode = 1;
    return;
  }
  const bot = await startBot(config);
  // Last resort, logged and survived: a library's background promise that nobody handles (the Socket Mode client
  // after a refused reconnect) must not take the bot down; /healthz then says 503 and a supervisor can act.
  process.on('unhandledRejection', (reason) => bot.core.log.error('unhandled rejection', { error: reason }));
  console.error(JSON.stringify({ msg: 'configuration', ...describeConfig(config) }));
  const shutdown = async (signal: string) => {
    bot.core.log.info('stopping', { signal });
    await bot.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((error) => {
  console.error(error instanceof ConfigError ? error.message : `dkim-bot failed to start: ${(error as Error).message}`);
  process.exitCode = 1;
});
