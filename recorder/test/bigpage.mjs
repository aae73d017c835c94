// Generated pages of a given number of elements for the sliced-snapshot tests and the startup benchmark:
// sections of headings, paragraphs, nested divs, lists, tables and form fields, with ~50 KB of inline styles.
// Deterministic (fixed seed), so every run and every mode sees the same page.

function rng(seed) {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

const WORDS = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon'.split(' ');

/** ~`kb` KB of CSS rules for classes c0..c199 */
export function styles(kb = 50) {
  const r = rng(7);
  const out = [];
  let size = 0;
  for (let i = 0; size < kb * 1024; i++) {
    const hex = () => Math.floor(r() * 0xffffff).toString(16).padStart(6, '0');
    const rule = `.c${i % 200} .d${i} { color: #${hex()}; background: #${hex()}; margin: ${i % 7}px ${i % 5}px; padding: ${i % 3}px; border-left: ${i % 4}px solid #${hex()}; }\n`;
    out.push(rule);
    size += rule.length;
  }
  return out.join('');
}

/** Body HTML with `n` elements (±1%). `tail` is HTML appended after them (serialized last by a snapshot). */
export function bigBody(n, tail = '') {
  const r = rng(42);
  const words = (k) => Array.from({ length: k }, () => WORDS[Math.floor(r() * WORDS.length)]).join(' ');
  const parts = [];
  let count = 0;
  let s = 0;
  while (count < n) {
    const c = `c${s % 200}`;
    const sec = [`<section class="${c}" id="s${s}"><h2>Section ${s} ${words(2)}</h2><p>${words(12)}</p>`];
    count += 3;
    // nested divs
    sec.push('<div class="nest">'.repeat(4) + `<span>${words(3)}</span>` + '</div>'.repeat(4));
    count += 5;
    // a list
    sec.push('<ul>' + Array.from({ length: 6 }, (_, i) => `<li data-i="${i}">${words(3)}</li>`).join('') + '</ul>');
    count += 7;
    // a table
    sec.push('<table><tbody>' + Array.from({ length: 4 }, () => '<tr>' + Array.from({ length: 3 }, () => `<td>${words(1)}</td>`).join('') + '</tr>').join('') + '</tbody></table>');
    count += 2 + 4 * 4;
    // form fields
    sec.push(`<label>Field ${s} <input name="f${s}" value="${words(1)}"></label>`);
    count += 2;
    sec.push('</section>');
    parts.push(sec.join(''));
    s++;
  }
  return `<main id="main">${parts.join('\n')}</main>${tail}`;
}

export function bigPage(n, { head = '', tail = '' } = {}) {
  return `<!doctype html><html><head><meta charset="utf-8"><title>Generated page of ${n} elements</title>
<style>body{font:14px sans-serif;margin:0;padding:8px;background:#fff;color:#222}section{border-top:1px solid #ccc}table{border-collapse:collapse}td{border:1px solid #ddd;padding:1px 4px}
${styles(50)}</style>${head}</head><body>${bigBody(n, tail)}</body></html>`;
}
