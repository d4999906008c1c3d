import { describe, expect, it } from 'vitest';
import { h } from 'preact';
import { renderToString } from 'preact-render-to-string';
import { Markdown, safeHref } from '../../../src/ui/shared/markdown';

const html = (text: string) => renderToString(h(Markdown, { text }));

describe('Markdown', () => {
  it('shows raw HTML as text: no img element, no handler', () => {
    const out = html('<img src=x onerror=alert(1)>');
    expect(out).not.toContain('<img');
    expect(out).toContain('&lt;img src=x onerror=alert(1)>');
  });

  it('shows inline HTML inside a paragraph as text too', () => {
    const out = html('look <script>alert(1)</script> **here**');
    expect(out).not.toContain('<script');
    expect(out.replace(/<\/?span[^>]*>/g, '')).toContain('look &lt;script>alert(1)&lt;/script> <strong>here</strong>');
  });

  it('makes no link of javascript:, data: or relative targets', () => {
    for (const target of ['javascript:alert(1)', 'JaVaScRiPt:alert(1)', 'data:text/html,<b>x</b>', '/popup.html', 'vbscript:x']) {
      const out = html(`[x](${target})`);
      expect(out, target).not.toContain('<a');
      expect(out, target).toContain('x');
    }
    expect(html('[x]: javascript:alert(1)\n\n[see][x]')).not.toContain('<a');
  });

  it('links http(s) and mailto in a new tab with noopener noreferrer', () => {
    expect(html('[docs](https://example.com/a?b=1)')).toContain(
      '<a href="https://example.com/a?b=1" target="_blank" rel="noopener noreferrer">docs</a>',
    );
    expect(html('<mailto:me@example.com>')).toContain('href="mailto:me@example.com"');
    expect(html('see https://example.com')).toContain('href="https://example.com/"');
  });

  it('never loads an image: an image is a link to it, or text', () => {
    const out = html('![a cat](https://example.com/cat.png) ![bad](javascript:alert(1))');
    expect(out).not.toContain('<img');
    expect(out).toContain('href="https://example.com/cat.png"');
    expect(out).toContain('🖼 a cat');
    expect(out).toContain('🖼 bad');
  });

  it('keeps a code block language as a class', () => {
    const out = html('```ts\nconst a = 1 < 2;\n```');
    expect(out).toContain('<pre><code class="language-ts">const a = 1 &lt; 2;</code></pre>');
  });

  it('renders GFM: tables, strikethrough, task lists', () => {
    const out = html('| a | b |\n|:-|-:|\n| 1 | 2 |\n\n~~old~~\n\n- [x] done\n- [ ] open');
    expect(out).toContain('<table>');
    expect(out).toContain('<th style="text-align:left;">a</th>');
    expect(out).toContain('<del>old</del>');
    expect(out).toContain('aria-label="done"');
    expect(out).toContain('aria-label="to do"');
    expect(out).not.toContain('<input');
  });

  it('shifts headings below the page headings', () => {
    expect(html('# Title')).toContain('<h3 class="md-heading">Title</h3>');
  });

  it('safeHref accepts only absolute http(s) and mailto', () => {
    expect(safeHref('https://a.b/c')).toBe('https://a.b/c');
    expect(safeHref(' http://a.b ')).toBe('http://a.b/');
    expect(safeHref('javascript:alert(1)')).toBeUndefined();
    expect(safeHref('chrome-extension://x/popup.html')).toBeUndefined();
    expect(safeHref('')).toBeUndefined();
  });
});
