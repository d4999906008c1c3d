/**
 * Agents' Markdown, rendered safely (issue 7: "sanitised Markdown, never raw HTML"). The text is
 * parsed to an mdast tree and every node becomes a Preact element, so nothing an agent writes is
 * ever read as HTML: raw `html` nodes are shown as their text, links and images keep only http(s)
 * and mailto targets, and images are links (a page loads nothing an agent names).
 */
import type { ComponentChildren, JSX } from 'preact';
import { useMemo } from 'preact/hooks';
import { fromMarkdown } from 'mdast-util-from-markdown';
import { gfmFromMarkdown } from 'mdast-util-gfm';
import { gfm } from 'micromark-extension-gfm';
import type { Definition, Nodes, Root, RootContent } from 'mdast';

/** Longer text is cut before parsing: a popup never needs 200,000 characters of one message. */
export const MARKDOWN_MAX_CHARS = 100_000;

const SAFE_PROTOCOLS = new Set(['http:', 'https:', 'mailto:']);

/** The URL when it is absolute http(s) or mailto, else undefined (javascript:, data:, relative…). */
export function safeHref(url: string | null | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const parsed = new URL(url.trim());
    return SAFE_PROTOCOLS.has(parsed.protocol) ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}

/** Parses Markdown with GitHub's extensions (tables, strikethrough, task lists, autolinks). */
export function parseMarkdown(text: string): Root {
  return fromMarkdown(text.length > MARKDOWN_MAX_CHARS ? text.slice(0, MARKDOWN_MAX_CHARS) + '\n\n…' : text, {
    extensions: [gfm()],
    mdastExtensions: [gfmFromMarkdown()],
  });
}

type Definitions = Map<string, Definition>;

function collectDefinitions(node: Nodes, into: Definitions): Definitions {
  if (node.type === 'definition') into.set(node.identifier, node);
  if ('children' in node) for (const child of node.children) collectDefinitions(child as Nodes, into);
  return into;
}

/** The plain text of a node, for alt text and unsafe links. */
function textOf(node: Nodes): string {
  if ('value' in node && typeof node.value === 'string') return node.value;
  if (node.type === 'image' || node.type === 'imageReference') return node.alt ?? '';
  if ('children' in node) return (node.children as Nodes[]).map(textOf).join('');
  return '';
}

function link(href: string | undefined, title: string | null | undefined, children: ComponentChildren, key: number): JSX.Element {
  return href ? (
    <a key={key} href={href} title={title ?? undefined} target="_blank" rel="noopener noreferrer">
      {children}
    </a>
  ) : (
    <span key={key} class="md-unsafe-link">
      {children}
    </span>
  );
}

function renderChildren(nodes: RootContent[], definitions: Definitions): ComponentChildren[] {
  return nodes.map((node, index) => renderNode(node, index, definitions));
}

function renderNode(node: RootContent, key: number, definitions: Definitions): ComponentChildren {
  const children = () => ('children' in node ? renderChildren(node.children as RootContent[], definitions) : null);
  switch (node.type) {
    case 'paragraph':
      return <p key={key}>{children()}</p>;
    case 'heading': {
      // Inside a message, headings sit below the page's own (h1, h2): shift them down.
      const Tag = `h${Math.min(node.depth + 2, 6)}` as 'h3';
      return <Tag key={key} class="md-heading">{children()}</Tag>;
    }
    case 'thematicBreak':
      return <hr key={key} />;
    case 'blockquote':
      return <blockquote key={key}>{children()}</blockquote>;
    case 'list':
      return node.ordered ? (
        <ol key={key} start={node.start ?? undefined}>
          {children()}
        </ol>
      ) : (
        <ul key={key}>{children()}</ul>
      );
    case 'listItem': {
      // A loose item's paragraphs stay paragraphs; a tight one's are inline.
      const content = node.spread
        ? children()
        : node.children.map((child, i) => (child.type === 'paragraph' ? renderChildren(child.children, definitions) : renderNode(child, i, definitions)));
      if (node.checked === null || node.checked === undefined) return <li key={key}>{content}</li>;
      return (
        <li key={key} class="md-task">
          <span class="md-check" role="img" aria-label={node.checked ? 'done' : 'to do'}>
            {node.checked ? '☑' : '☐'}
          </span>{' '}
          {content}
        </li>
      );
    }
    case 'table': {
      const [head, ...rows] = node.children;
      const align = (i: number) => node.align?.[i] ?? undefined;
      return (
        <div key={key} class="md-table">
          <table>
            {head && (
              <thead>
                <tr>
                  {head.children.map((cell, i) => (
                    <th key={i} style={align(i) ? { textAlign: align(i)! } : undefined}>
                      {renderChildren(cell.children, definitions)}
                    </th>
                  ))}
                </tr>
              </thead>
            )}
            <tbody>
              {rows.map((row, r) => (
                <tr key={r}>
                  {row.children.map((cell, i) => (
                    <td key={i} style={align(i) ? { textAlign: align(i)! } : undefined}>
                      {renderChildren(cell.children, definitions)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      );
    }
    case 'code':
      return (
        <pre key={key}>
          <code class={node.lang ? `language-${node.lang.replace(/[^\w+#.-]/g, '')}` : undefined}>{node.value}</code>
        </pre>
      );
    case 'html':
      // Raw HTML is text: shown as the agent wrote it, never parsed.
      return (
        <span key={key} class="md-html">
          {node.value}
        </span>
      );
    case 'text':
      return node.value;
    case 'emphasis':
      return <em key={key}>{children()}</em>;
    case 'strong':
      return <strong key={key}>{children()}</strong>;
    case 'delete':
      return <del key={key}>{children()}</del>;
    case 'inlineCode':
      return <code key={key}>{node.value}</code>;
    case 'break':
      return <br key={key} />;
    case 'link':
      return link(safeHref(node.url), node.title, children(), key);
    case 'linkReference': {
      const definition = definitions.get(node.identifier);
      return definition ? link(safeHref(definition.url), definition.title, children(), key) : <span key={key}>{textOf(node)}</span>;
    }
    case 'image':
      return link(safeHref(node.url), node.title, `🖼 ${node.alt || 'image'}`, key);
    case 'imageReference': {
      const definition = definitions.get(node.identifier);
      return link(safeHref(definition?.url), definition?.title, `🖼 ${node.alt || 'image'}`, key);
    }
    case 'definition':
    case 'footnoteDefinition':
    case 'yaml':
      return null;
    case 'footnoteReference':
      return <sup key={key}>[{node.label ?? node.identifier}]</sup>;
    default:
      // Anything this renderer does not know is shown as its text.
      return textOf(node as Nodes);
  }
}

/** Renders a parsed tree; exported for tests and for callers that parse once and render often. */
export function renderMarkdown(root: Root): ComponentChildren[] {
  return renderChildren(root.children, collectDefinitions(root, new Map()));
}

export function Markdown({ text, class: className }: { text: string; class?: string }) {
  const rendered = useMemo(() => renderMarkdown(parseMarkdown(text)), [text]);
  return <div class={className ? `markdown ${className}` : 'markdown'}>{rendered}</div>;
}
