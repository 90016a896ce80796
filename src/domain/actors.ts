/**
 * Who did something. In Slack, a user id (`U…`/`W…`). On the host, an operator of the CLI, recorded as
 * `cli:<os user>`, or `cli:<os user> as <user id>` when acting for a Slack user (whose rights then apply).
 */

const CLI_AS = /^cli:([^\s]+) as ([UW][A-Z0-9]+)$/;

/** The id the rules are checked with: the Slack user the actor is or acts as. */
export function actorId(actor: string): string {
  return CLI_AS.exec(actor)?.[2] ?? actor;
}

/** Who acted, apart: the Slack user (when there is one) and, for the CLI, the operator who really acted. */
export function actorParts(actor: string): { user?: string; cli?: string } {
  const cli = CLI_AS.exec(actor);
  if (cli) return { user: cli[2], cli: cli[1] };
  if (/^[UW][A-Z0-9]+$/.test(actor)) return { user: actor };
  return { cli: actor.replace(/^cli:/, '') };
}

/** The actor in plain words (the CLI, logs): a Slack mention, and who really acted when it was the CLI. */
export function mention(actor: string): string {
  const { user, cli } = actorParts(actor);
  if (user && cli) return `<@${user}> (through the CLI, by ${cli})`;
  return user ? `<@${user}>` : `\`${actor}\``;
}

export function cliActor(osUser: string, as?: string): string {
  return as ? `cli:${osUser} as ${as}` : `cli:${osUser}`;
}
