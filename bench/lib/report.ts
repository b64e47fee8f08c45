/**
 * The report: one list of sections (paragraph lines and tables) rendered
 * twice, as aligned text for the terminal and as Markdown for
 * bench/results/latest.md.
 */
export interface Table {
  head: string[];
  rows: string[][];
}

export interface Section {
  title: string;
  lines: string[];
  tables: Table[];
  /** Lines printed after the tables. */
  after?: string[];
}

export function renderText(title: string, sections: Section[]): string {
  const out = [title, '='.repeat(title.length), ''];
  for (const s of sections) {
    out.push(s.title, '-'.repeat(s.title.length), ...s.lines);
    for (const t of s.tables) {
      const widths = t.head.map((h, i) => Math.max(h.length, ...t.rows.map((r) => (r[i] ?? '').length)));
      const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
      out.push('', line(t.head), widths.map((w) => '-'.repeat(w)).join('  '), ...t.rows.map(line));
    }
    out.push(...(s.after ?? []), '');
  }
  return out.join('\n');
}

export function renderMarkdown(title: string, sections: Section[]): string {
  const out = [`# ${title}`, ''];
  for (const s of sections) {
    out.push(`## ${s.title}`, '', ...s.lines.map((l) => (l ? `${l}  ` : '')));
    for (const t of s.tables) {
      out.push('', `| ${t.head.join(' | ')} |`, `|${t.head.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`);
      for (const r of t.rows) out.push(`| ${r.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`);
    }
    if (s.after?.length) out.push('', ...s.after.map((l) => (l ? `${l}  ` : '')));
    out.push('');
  }
  return out.join('\n');
}
