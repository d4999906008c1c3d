/**
 * An answer as claude.ai rendered it, back to Markdown: paragraphs, headings, emphasis, inline code,
 * links, lists (nested), quotes, tables, code blocks with their language, and artifacts. Reads the
 * DOM's text only — nothing of the page is ever carried as HTML (issue 6).
 */
import { CANDIDATES } from './site';

/** Code blocks: the language is on the code element's class, or (older markup) in a header above it. */
function languageOf(pre: Element): string | undefined {
  const code = pre.querySelector('code') ?? pre;
  const fromClass = /(?:^|\s)language-([\w+#.-]+)/.exec(code.className)?.[1];
  if (fromClass) return fromClass;
  // The site's code block header: a short label (the language) in the block's wrapper, before the pre.
  const header = pre.parentElement?.firstElementChild;
  const label = header && header !== pre ? (header.textContent ?? '').trim() : '';
  return /^[\w+#.-]{1,30}$/.test(label) ? label.toLowerCase() : undefined;
}

const ARTIFACT = CANDIDATES.artifact.join(', ');

function fence(code: string): string {
  let ticks = '```';
  while (code.includes(ticks)) ticks += '`';
  return ticks;
}

function inline(node: Node): string {
  if (node.nodeType === Node.TEXT_NODE) return (node.textContent ?? '').replace(/\s+/g, ' ');
  if (!(node instanceof Element)) return '';
  const children = () => [...node.childNodes].map(inline).join('');
  switch (node.tagName) {
    case 'STRONG':
    case 'B':
      return wrap('**', children());
    case 'EM':
    case 'I':
      return wrap('*', children());
    case 'DEL':
    case 'S':
      return wrap('~~', children());
    case 'CODE': {
      const text = node.textContent ?? '';
      const ticks = text.includes('`') ? '``' : '`';
      return `${ticks}${text}${ticks}`;
    }
    case 'A': {
      const href = node.getAttribute('href') ?? '';
      const text = children();
      return /^https?:\/\//.test(href) ? `[${text}](${href})` : text;
    }
    case 'BR':
      return '  \n';
    default:
      return children();
  }
}

function wrap(marker: string, text: string): string {
  const trimmed = text.trim();
  return trimmed ? text.replace(trimmed, `${marker}${trimmed}${marker}`) : text;
}

/** Block-level Markdown of `element`'s children, blocks separated by blank lines. */
function blocks(element: Element, depth = 0): string[] {
  const out: string[] = [];
  let paragraph = '';
  const flush = () => {
    if (paragraph.trim()) out.push(paragraph.trim());
    paragraph = '';
  };
  for (const node of element.childNodes) {
    if (!(node instanceof Element)) {
      paragraph += inline(node);
      continue;
    }
    const block = blockOf(node, depth);
    if (block === undefined) paragraph += inline(node);
    else {
      flush();
      if (block) out.push(block);
    }
  }
  flush();
  return out;
}

/** A block element's Markdown; undefined for an inline element. */
function blockOf(node: Element, depth: number): string | undefined {
  if (node.matches(ARTIFACT)) return artifact(node);
  const tag = node.tagName;
  if (/^H[1-6]$/.test(tag)) return `${'#'.repeat(Number(tag[1]))} ${inline(node).trim()}`;
  switch (tag) {
    case 'P':
      return inline(node).trim();
    case 'PRE': {
      const code = (node.querySelector('code') ?? node).textContent ?? '';
      const ticks = fence(code);
      return `${ticks}${languageOf(node) ?? ''}\n${code.replace(/\n$/, '')}\n${ticks}`;
    }
    case 'UL':
    case 'OL':
      return list(node, depth);
    case 'BLOCKQUOTE':
      return blocks(node, depth)
        .join('\n\n')
        .split('\n')
        .map((line) => (line ? `> ${line}` : '>'))
        .join('\n');
    case 'HR':
      return '---';
    case 'TABLE':
      return table(node);
    case 'BUTTON':
    case 'svg':
    case 'SVG':
      return ''; // copy buttons and icons are not part of the answer
    case 'DIV':
    case 'SECTION':
    case 'ARTICLE':
      // A code block's wrapper: its header label is the language, not text of the answer.
      if (node.querySelector(':scope > pre, :scope > div > pre') && !node.querySelector(':scope > p')) {
        const pre = node.querySelector('pre')!;
        return blockOf(pre, depth);
      }
      return blocks(node, depth).join('\n\n');
    default:
      return undefined;
  }
}

function list(node: Element, depth: number): string {
  const ordered = node.tagName === 'OL';
  const start = Number(node.getAttribute('start') ?? 1) || 1;
  const indent = '   '.repeat(depth);
  return [...node.children]
    .filter((li) => li.tagName === 'LI')
    .map((li, i) => {
      const marker = ordered ? `${start + i}.` : '-';
      const [first = '', ...rest] = blocks(li, depth + 1);
      const nested = rest.map((block) => (/^\s*([-*]|\d+\.) /.test(block) ? block : block.replace(/^/gm, `${indent}   `)));
      return [`${indent}${marker} ${first}`, ...nested].join('\n');
    })
    .join('\n');
}

function table(node: Element): string {
  const rows = [...node.querySelectorAll('tr')].map((tr) =>
    [...tr.querySelectorAll('th, td')].map((cell) => inline(cell).trim().replace(/\|/g, '\\|')),
  );
  if (!rows.length) return '';
  const width = Math.max(...rows.map((r) => r.length));
  const line = (cells: string[]) => `| ${[...cells, ...Array(width - cells.length).fill('')].join(' | ')} |`;
  return [line(rows[0]), line(Array(width).fill('---')), ...rows.slice(1).map(line)].join('\n');
}

/** An artifact's card: its title and kind, and its content when the page holds it. */
function artifact(node: Element): string {
  const lines = [...node.querySelectorAll('*')]
    .filter((e) => e.children.length === 0)
    .map((e) => (e.textContent ?? '').trim())
    .filter(Boolean);
  const [title = 'Artifact', ...rest] = lines.length ? lines : [(node.textContent ?? '').trim()];
  const kind = rest.find((line) => line.length <= 60);
  const pre = node.querySelector('pre');
  const head = `**Artifact: ${title}**${kind ? ` (${kind})` : ''}`;
  if (!pre) return head;
  const code = pre.textContent ?? '';
  const ticks = fence(code);
  return `${head}\n\n${ticks}${languageOf(pre) ?? ''}\n${code.replace(/\n$/, '')}\n${ticks}`;
}

/** The Markdown of one answer element. */
export function answerMarkdown(answer: Element): string {
  return blocks(answer).join('\n\n').trim();
}
