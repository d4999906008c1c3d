/**
 * Addresses name every endpoint on the bus. One string form, so they index well in IndexedDB and
 * read well in logs:
 *
 *   agent      <kind>:<device>/<instance>   claude-code:laptop/5f0c…   claude-ai:laptop/chat-8e1…
 *   topic      topic:<name>                 topic:builds
 *   broadcast  broadcast                    every agent the directory knows
 *
 * `kind` says which adapter delivers; `device` which paired machine the agent lives on; `instance`
 * which conversation, session or client (see ARCHITECTURE.md, "One identity per agent").
 */
import { z } from 'zod';

export const AGENT_KINDS = [
  'claude-ai', // a claude.ai conversation in a browser tab
  'claude-code', // a Claude Code session, by its session id
  'claude-desktop', // the Claude Desktop app
  'api', // a local API client, by its client id
  'extension', // one of Switchboard's own pages (popup, dashboard)
  'test', // the recording test adapter (src/adapters/test-sink.ts)
] as const;
export type AgentKind = (typeof AGENT_KINDS)[number];

export const BROADCAST = 'broadcast';

/** The hub itself, as the sender of its own notices (a hold began or ended). */
export const HUB_ADDRESS = 'extension:local/hub';

const DEVICE = '[a-z0-9][a-z0-9-]{0,62}';
const INSTANCE = '[A-Za-z0-9][A-Za-z0-9._~@:-]{0,199}';
const TOPIC = '[a-z0-9][a-z0-9._/-]{0,99}';
const AGENT_PATTERN = new RegExp(`^(${AGENT_KINDS.join('|')}):(${DEVICE})/(${INSTANCE})$`);
const TOPIC_PATTERN = new RegExp(`^topic:(${TOPIC})$`);

export type ParsedAddress =
  | { type: 'agent'; kind: AgentKind; device: string; instance: string }
  | { type: 'topic'; name: string }
  | { type: 'broadcast' };

/** Parses an address, or returns undefined when it is not one. */
export function parseAddress(address: string): ParsedAddress | undefined {
  if (address === BROADCAST) return { type: 'broadcast' };
  const topic = TOPIC_PATTERN.exec(address);
  if (topic) return { type: 'topic', name: topic[1] };
  const agent = AGENT_PATTERN.exec(address);
  if (agent) return { type: 'agent', kind: agent[1] as AgentKind, device: agent[2], instance: agent[3] };
  return undefined;
}

export function agentAddress(kind: AgentKind, device: string, instance: string): string {
  const address = `${kind}:${device}/${instance}`;
  if (!AGENT_PATTERN.test(address)) throw new Error(`not a valid agent address: ${JSON.stringify(address)}`);
  return address;
}

export function isAgentAddress(address: string): boolean {
  return AGENT_PATTERN.test(address);
}

const ADDRESS_HINT = `an address like "kind:device/instance" (kind one of ${AGENT_KINDS.join(', ')}), "topic:name" or "broadcast"`;

/** Any address: an agent, a topic or broadcast. */
export const Address = z
  .string({ error: `expected ${ADDRESS_HINT}` })
  .max(300, { error: 'address is longer than 300 characters' })
  .refine((value) => parseAddress(value) !== undefined, {
    error: (issue) => `expected ${ADDRESS_HINT}, got ${JSON.stringify(issue.input)}`,
  });

/** A topic's name, without the `topic:` prefix. */
export const TopicName = z
  .string()
  .refine((name) => TOPIC_PATTERN.test(`topic:${name}`), {
    error: (issue) => `expected a topic name (lower-case letters, digits, . _ / -), got ${JSON.stringify(issue.input)}`,
  });

/** Only a concrete agent can send, be replied to, or ack. */
export const AgentAddress = z
  .string({ error: 'expected an agent address like "kind:device/instance"' })
  .max(300, { error: 'address is longer than 300 characters' })
  .refine(isAgentAddress, {
    error: (issue) =>
      `expected an agent address like "kind:device/instance" (kind one of ${AGENT_KINDS.join(', ')}), got ${JSON.stringify(issue.input)}`,
  });
