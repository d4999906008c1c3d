/**
 * Every agent, grouped by kind — claude.ai conversations, Claude Code sessions, API clients — with
 * its live state, why, and a countdown to the reset when it is rate-limited or held (issue 7).
 */
import { useState } from 'preact/hooks';
import type { AgentSummary } from '../../hub/agents-view';
import { Countdown, StateBadge } from '../shared/agent-state';
import { countdownOf, groupAgents, type AgentGroup } from './derive';

/** Rows shown per group before "Show all". */
const FIRST_ROWS = 6;

export function AgentsPanel({ agents, loading, now, onMessage }: { agents: AgentSummary[] | undefined; loading: boolean; now: number; onMessage: (address: string) => void }) {
  const groups = groupAgents(agents ?? []);
  return (
    <section class="agents" aria-labelledby="agents-heading" aria-busy={loading}>
      <h2 id="agents-heading">Agents</h2>
      {loading && !agents ? (
        <p class="muted">Loading agents…</p>
      ) : groups.length === 0 ? (
        <p class="muted">No agents yet. Open a claude.ai conversation, or start Claude Code with Switchboard's hooks installed.</p>
      ) : (
        groups.map((group) => <Group key={group.kind} group={group} now={now} onMessage={onMessage} />)
      )}
    </section>
  );
}

function Group({ group, now, onMessage }: { group: AgentGroup; now: number; onMessage: (address: string) => void }) {
  const [all, setAll] = useState(false);
  const shown = all ? group.agents : group.agents.slice(0, FIRST_ROWS);
  const headingId = `agents-${group.kind}`;
  return (
    <div class="agent-group">
      <h3 id={headingId}>
        {group.label} <span class="count">({group.agents.length})</span>
      </h3>
      <ul class="agent-list" aria-labelledby={headingId}>
        {shown.map((agent) => (
          <AgentRow key={agent.address} agent={agent} now={now} onMessage={onMessage} />
        ))}
      </ul>
      {group.agents.length > FIRST_ROWS && (
        <button type="button" class="link-button" aria-expanded={all} onClick={() => setAll(!all)}>
          {all ? 'Show fewer' : `Show all ${group.agents.length}`}
        </button>
      )}
    </div>
  );
}

function AgentRow({ agent, now, onMessage }: { agent: AgentSummary; now: number; onMessage: (address: string) => void }) {
  const until = countdownOf(agent, now);
  return (
    <li class="agent" data-address={agent.address}>
      <div class="agent-line">
        <span class="agent-title" title={agent.address}>
          {agent.title}
        </span>
        <StateBadge state={agent.state} detail={agent.detail} />
        {agent.state !== 'ended' && (
          <button type="button" class="small" onClick={() => onMessage(agent.address)} aria-label={`Message ${agent.title}`}>
            Message
          </button>
        )}
      </div>
      {(agent.detail || until !== undefined) && (
        <div class="agent-detail muted">
          {agent.detail}
          {agent.detail && until !== undefined && ' · '}
          {until !== undefined && <Countdown until={until} label={agent.state === 'broken' ? 'tries again in' : 'resets in'} />}
        </div>
      )}
      {agent.where && (
        <div class="agent-where muted" title={agent.where}>
          {agent.where}
        </div>
      )}
    </li>
  );
}
