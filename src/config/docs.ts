// The configuration reference of the README, generated from the option table (describeOptions) so it
// cannot drift from the code (test/interop/operator-configs.test.ts compares them).
import { describeOptions } from './config';

export function renderOptionsMarkdown(): string {
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  const lines = ['| option | default | environment / flag | meaning |', '|---|---|---|---|'];
  for (const o of describeOptions()) {
    const names = [...o.env.map((e) => `\`${e}\``), ...(o.flag ? [`\`${o.flag}\``] : [])].join(' ');
    lines.push(`| \`${o.key}\` | \`${cell(o.default)}\` | ${names} | ${cell(o.help)} (${cell(o.expected)}) |`);
  }
  return lines.join('\n') + '\n';
}
