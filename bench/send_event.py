#!/usr/bin/env python3
"""
The Python contender of `npm run bench:hooks` (BENCHMARKS.md, "Claude Code hooks"): a Claude Code
command hook that posts its event the way the best-known hooks observability project does
(disler/claude-code-hooks-multi-agent-observability, `.claude/hooks/send_event.py`): argparse, the
event read from stdin with json.load, an event dict built around it, one urllib.request POST, the
answer read and parsed. Written for this benchmark, with the standard library only.

It is the floor of that approach, so the comparison favours Python: that script runs under
`uv run --script` with third-party dependencies, imports its summarizer and reads the whole
transcript on every event to find the model; none of that is done here.

Two changes so it can post to the same daemon as the other contenders: the dict also carries
`hook_event_name` (the one field the daemon's /hooks needs that the dict lacks), and the daemon's
token is read from its file and sent as a bearer header, as Switchboard's own hook does.
"""
import argparse
import json
import sys
import urllib.error
import urllib.request
from datetime import datetime

# Fields that project lifts from the payload to the top of its event, where present.
LIFTED = (
    'tool_name', 'tool_use_id', 'error', 'is_interrupt', 'permission_suggestions', 'agent_id', 'agent_type',
    'agent_transcript_path', 'stop_hook_active', 'notification_type', 'custom_instructions', 'source', 'reason',
)


def post(url, token, event):
    request = urllib.request.Request(
        url,
        data=json.dumps(event).encode('utf-8'),
        headers={'Content-Type': 'application/json', 'User-Agent': 'Claude-Code-Hook/1.0', 'Authorization': f'Bearer {token}'},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read() or b'{}')
    except (urllib.error.URLError, ValueError) as error:
        print(f'could not send the event: {error}', file=sys.stderr)
        return {}


def main():
    parser = argparse.ArgumentParser(description='Post a Claude Code hook event to a server')
    parser.add_argument('--source-app', required=True)
    parser.add_argument('--event-type', required=True)
    parser.add_argument('--server-url', required=True)
    parser.add_argument('--token-file', required=True)
    args = parser.parse_args()

    try:
        payload = json.load(sys.stdin)
    except json.JSONDecodeError as error:
        print(f'not JSON on stdin: {error}', file=sys.stderr)
        sys.exit(0)  # never block Claude Code
    with open(args.token_file, encoding='utf-8') as file:
        token = file.readline().strip()

    event = {
        'source_app': args.source_app,
        'session_id': payload.get('session_id', 'unknown'),
        'hook_event_type': args.event_type,
        'hook_event_name': args.event_type,
        'payload': payload,
        'timestamp': int(datetime.now().timestamp() * 1000),
        'model_name': '',
    }
    for field in LIFTED:
        if field in payload:
            event[field] = payload[field]

    answer = post(args.server_url, token, event)
    # A hook's stdout is its output to Claude Code: pass on what the server answered, if anything.
    if answer:
        print(json.dumps(answer))
    sys.exit(0)


if __name__ == '__main__':
    main()
