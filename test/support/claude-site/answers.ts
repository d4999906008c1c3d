/**
 * Answers in the markup claude.ai renders Markdown to (2025–26): paragraphs in a `standard-markdown`
 * grid, inline strong/em/code, ordered and bullet lists, code blocks under a header naming the
 * language with a Copy button beside it and highlighted tokens inside, and artifact cards. The default
 * answer quotes the prompt, so a test can tell answers apart.
 */

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A paragraph as the site renders one. */
export function paragraph(innerHtml: string): string {
  return `<p class="whitespace-normal break-words">${innerHtml}</p>`;
}

/**
 * A fenced code block: `code` is plain text; `highlighted` (optional) the same text already marked up
 * with token spans, as the site's highlighter gives it.
 */
export function codeBlock(language: string, code: string, highlighted?: string): string {
  return (
    `<div class="relative flex flex-col rounded-lg code-block">` +
    `<div class="text-text-500 font-small p-3.5 pb-0">${escapeHtml(language)}</div>` +
    `<div class="pointer-events-none sticky my-0.5 ms-auto flex items-center justify-end"><button type="button" class="pointer-events-auto" aria-label="Copy to clipboard">Copy</button></div>` +
    `<div><pre class="code-block__code !my-0 !rounded-lg !text-sm !leading-relaxed"><code class="language-${escapeHtml(language)}" style="white-space: pre;">${highlighted ?? escapeHtml(code)}</code></pre></div>` +
    `</div>`
  );
}

/**
 * An artifact's card in an answer, in the primary markup; the page renders it per the variant (the
 * fallback class or neither), so scripted answers can use this for any variant.
 */
export function artifactCard(title: string, kind: string): string {
  return (
    `<div data-testid="artifact-block" class="relative my-3 rounded-lg border">` +
    `<button type="button" class="flex w-full items-center gap-3 text-left" aria-label="Open artifact: ${escapeHtml(title)}">` +
    `<div class="leading-tight"><div class="font-medium artifact-title">${escapeHtml(title)}</div>` +
    `<div class="text-sm text-text-300 artifact-kind">${escapeHtml(kind)}</div></div>` +
    `</button></div>`
  );
}

/** The Python the default answer carries, as text. */
export const DEFAULT_CODE = 'def fib(n):\n    """The n-th Fibonacci number."""\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n';

const DEFAULT_CODE_HIGHLIGHTED =
  '<span class="token keyword">def</span> <span class="token function">fib</span><span class="token punctuation">(</span>n<span class="token punctuation">)</span><span class="token punctuation">:</span>\n' +
  '    <span class="token triple-quoted-string string">"""The n-th Fibonacci number."""</span>\n' +
  '    a<span class="token punctuation">,</span> b <span class="token operator">=</span> <span class="token number">0</span><span class="token punctuation">,</span> <span class="token number">1</span>\n' +
  '    <span class="token keyword">for</span> _ <span class="token keyword">in</span> <span class="token builtin">range</span><span class="token punctuation">(</span>n<span class="token punctuation">)</span><span class="token punctuation">:</span>\n' +
  '        a<span class="token punctuation">,</span> b <span class="token operator">=</span> b<span class="token punctuation">,</span> a <span class="token operator">+</span> b\n' +
  '    <span class="token keyword">return</span> a\n';

/** The prompt's first words, as the default answer quotes them. */
export function quoteOf(prompt: string): string {
  const flat = prompt.replace(/\s+/g, ' ').trim();
  return flat.length > 60 ? `${flat.slice(0, 60)}…` : flat;
}

/**
 * The answer to a prompt nobody scripted: a paragraph quoting the prompt, inline marks, an ordered
 * list with a nested bullet list, a Python code block, an artifact card and a closing paragraph.
 */
export function defaultAnswerHtml(prompt: string): string {
  return [
    paragraph(`You asked: “${escapeHtml(quoteOf(prompt))}”. Here is an answer with <strong>bold</strong>, <em>emphasis</em> and <code>inline_code()</code>.`),
    `<ol class="[&amp;:not(:last-child)_ul]:pb-1 list-decimal space-y-1.5 pl-7">` +
      `<li class="whitespace-normal break-words">Read the question</li>` +
      `<li class="whitespace-normal break-words">Think it through<ul class="list-disc space-y-1.5 pl-7"><li class="whitespace-normal break-words">one nested point</li><li class="whitespace-normal break-words">another nested point</li></ul></li>` +
      `<li class="whitespace-normal break-words">Answer it</li>` +
      `</ol>`,
    codeBlock('python', DEFAULT_CODE, DEFAULT_CODE_HIGHLIGHTED),
    artifactCard('Fibonacci helper', 'Code · Python'),
    paragraph('That is all.'),
  ].join('');
}
